"""Imports every command module so their commands register on the app. One line per module."""

from creditgauge.cli import (  # noqa: F401
    alerts,
    balance,
    demo,
    export,
    guard,
    keys,
    ledger,
    proxy,
    quarantine,
    reconcile,
    reports,
    reprice,
    serve,
    setup,
    status,
    sync,
)
