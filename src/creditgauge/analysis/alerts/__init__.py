"""Alerts: rules evaluated over the analysis answers (rules), channels that deliver (channels), and the engine
that fires once per state change, reminds, resolves and keeps its state in the store (engine)."""
