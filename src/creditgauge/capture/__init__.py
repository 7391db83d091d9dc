"""What creditgauge tracks itself: the recording proxy, the SDK hook and the OTLP receiver, and how they price
and write what they saw."""
