"""Answers derived from stored facts: balance, burn rate, runway, forecast, reconciliation, alerts.

Every answer is one function returning dataclasses with a `to_dict()` that the CLI's --json and the JSON API both
serialise, so the terminal, the dashboard and the alerts show the same figures. Analysis only reads the store and
never asks the system clock: callers pass `now` (see creditgauge.clock).
"""
