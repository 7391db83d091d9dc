"""The command line: a thin skin over the library (parsing and printing here, behaviour elsewhere)."""

from creditgauge.cli.app import app, main

__all__ = ["app", "main"]
