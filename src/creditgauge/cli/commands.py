"""Imports every command module so their commands register on the app. One line per module."""

from creditgauge.cli import (  # noqa: F401
    export,
    reports,
    serve,
    setup,
    sync,
)
