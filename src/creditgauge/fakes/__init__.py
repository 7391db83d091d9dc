"""Contract-faithful fake provider servers on 127.0.0.1, for the tests and for `creditgauge demo`."""
