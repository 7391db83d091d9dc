"""`creditgauge serve`: the dashboard, JSON API, ingest endpoint, /metrics, scheduled sync and alerts."""

from __future__ import annotations

import os

import typer

from creditgauge.cli.context import err_console, get_config, get_engine
from creditgauge.ports import require_free_port


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1, or [serve] host). "
                                    "Anything but loopback needs a token."),
    port: int | None = typer.Option(None, "--port", help="Port (default 8484, or [serve] port)."),
    token: str | None = typer.Option(None, "--token", help="Token every page and API call must carry (default: "
                                     "the variable named by [serve] token_env, CREDITGAUGE_TOKEN)."),
    no_sync: bool = typer.Option(False, "--no-sync", help="Read-only: no scheduled sync and no \"sync now\"."),
) -> None:
    """Serve the dashboard and the JSON API; sync on a schedule and evaluate alerts after each sync."""
    from creditgauge.web import serve as run_server

    config = get_config()
    bind = host or config.serve.host
    chosen_port = port or config.serve.port
    secret = token or os.environ.get(config.serve.token_env) or None
    require_free_port(bind, chosen_port)  # before announcing an address that another program holds
    err_console.print(f"creditgauge dashboard on http://{'[' + bind + ']' if ':' in bind else bind}:{chosen_port}/"
                      + (" (token required)" if secret else "") + (" read-only" if no_sync else ""),
                      markup=False, highlight=False)
    run_server(config, get_engine(), host=bind, port=chosen_port, token=secret, scheduler=not no_sync)


def register(app: typer.Typer) -> None:
    app.command()(serve)
