"""Run the app with uvicorn: the entry point of `creditgauge serve` and of `creditgauge demo`."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from creditgauge.capture.collector import tune_garbage_collector
from creditgauge.config import Config
from creditgauge.domain import UsageEvent
from creditgauge.web.app import create_app
from creditgauge.web.security import check_bind

# Bounds of the dashboard's server (the proxy has its own): requests in flight beyond this are answered 503 at once
# instead of queueing without limit, and an idle keep-alive connection is closed after a few seconds.
MAX_CONCURRENT_REQUESTS = 256
KEEP_ALIVE_SECONDS = 5


def serve(config: Config, engine: Engine, *, host: str = "127.0.0.1", port: int = 8484, token: str | None = None,
          demo: bool = False, scheduler: bool = True, log_level: str = "warning",
          proxy_observers: list[Callable[[UsageEvent], None]] | None = None) -> None:
    """Serve until interrupted. Refuses a non-loopback host without a token (see web.security).

    `proxy_observers` is the observer list of a recording proxy running in this process (its Recorder's):
    the app's /metrics then counts that proxy's requests, tokens and cost."""
    check_bind(host, token)
    app = create_app(config, engine, token=token, demo=demo, scheduler=scheduler)
    if proxy_observers is not None:
        count_proxy_events(app, proxy_observers)
    tune_garbage_collector()  # a long-running server: its OTLP receiver decodes thousands of spans a second
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, server_header=False,
                limit_concurrency=MAX_CONCURRENT_REQUESTS, timeout_keep_alive=KEEP_ALIVE_SECONDS)


def count_proxy_events(app: FastAPI, proxy_observers: list[Callable[[UsageEvent], None]]) -> None:
    """Let the app's Prometheus counters see every event an in-process recording proxy records."""
    proxy_observers.append(app.state.ctx.metrics.observe_event)
