"""What every route needs: the config, the store, the demo flag and the clock, kept on the app's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from fastapi import Request
from sqlalchemy import Engine

from creditgauge import clock
from creditgauge.config import Config
from creditgauge.web.metrics import Metrics


@dataclass
class WebContext:
    config: Config
    engine: Engine
    demo: bool = False
    metrics: Metrics = field(default_factory=Metrics)

    def now(self) -> datetime:
        return clock.now()

    def today(self) -> date:
        return self.now().date()


def web_context(request: Request) -> WebContext:
    """FastAPI dependency: the app's context."""
    return request.app.state.ctx
