"""`creditgauge proxy`: the recording pass-through proxy."""

from __future__ import annotations

import typer

from creditgauge.cli.context import get_config
from creditgauge.ports import require_free_port


def proxy(
    host: str | None = typer.Option(None, "--host", help="Interface to listen on (default proxy.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default proxy.port, 4000)."),
) -> None:
    """Recording pass-through proxy: /{account}/<path> goes to that account's API; each answer's usage is
    priced and stored as a tracked event. Stops cleanly on SIGTERM/Ctrl-C, flushing every event."""
    from creditgauge.capture.runtime import run_proxy

    config = get_config()
    bind, chosen_port = host or config.proxy.host, port or config.proxy.port
    require_free_port(bind, chosen_port)
    run_proxy(config, bind, chosen_port)


def register(app: typer.Typer) -> None:
    app.command()(proxy)
