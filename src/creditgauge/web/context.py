"""What every route needs: the service layer's session (config, store, clock), the demo flag and the metrics, kept
on the app's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from fastapi import Request

from creditgauge.service.session import Session
from creditgauge.web.metrics import Metrics


@dataclass
class WebContext(Session):
    demo: bool = False
    metrics: Metrics = field(default_factory=Metrics)


def web_context(request: Request) -> WebContext:
    """FastAPI dependency: the app's context."""
    return cast(WebContext, request.app.state.ctx)
