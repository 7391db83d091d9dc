"""The use cases, once, under both faces: the CLI (`creditgauge.cli`) and the web (`creditgauge.web`) parse what
they were given, call a function here with a `Session` (config, store, clock) and print or render its answer.
Nothing here prints or knows HTTP; analysis computes and the store reads and writes below this layer."""
