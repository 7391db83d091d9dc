"""Run the app with uvicorn: the entry point of `creditgauge serve` and of `creditgauge demo`."""

from __future__ import annotations

import uvicorn
from sqlalchemy import Engine

from creditgauge.config import Config
from creditgauge.web.app import create_app
from creditgauge.web.security import check_bind


def serve(config: Config, engine: Engine, *, host: str = "127.0.0.1", port: int = 8484, token: str | None = None,
          demo: bool = False, scheduler: bool = True, log_level: str = "warning") -> None:
    """Serve until interrupted. Refuses a non-loopback host without a token (see web.security)."""
    check_bind(host, token)
    app = create_app(config, engine, token=token, demo=demo, scheduler=scheduler)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, server_header=False)
