"""Provider connectors: one module per provider, all registered through the `creditgauge.connectors` entry points."""
