"""The Jinja2 environment of the pages and the filters that turn exact figures into text people read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.responses import Response

from creditgauge.display import cents, percent
from creditgauge.domain import as_utc

TEMPLATES = Path(__file__).parent / "templates"
CENT = Decimal("0.01")


def money(value: Any, currency: str | None = None) -> str:
    """12345.678 -> "12,345.68 USD" (display only: rounded half-even to cents; the API keeps every digit).
    Amounts under a cent but not zero keep their significant digits, so $0.0004 never reads as $0.00."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        value, currency = value.get("amount"), currency or value.get("currency")
        if value is None:
            return "—"
    amount = Decimal(str(value))
    text = f"{amount.quantize(CENT, rounding=ROUND_HALF_EVEN):,}" if amount == 0 or abs(amount) >= CENT \
        else f"{amount.normalize():f}"
    return f"{text} {currency}" if currency else text


def number(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def age(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - as_utc(moment)).total_seconds())
    if seconds < 90:
        return "just now" if seconds < 10 else f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    if seconds < 36 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def tenths(part: Any, whole: Any) -> int:
    """part/whole as a percentage rounded down to a multiple of 10 and capped at 100 (a meter's CSS class)."""
    if part is None or not whole or Decimal(str(whole)) <= 0:
        return 0
    share = Decimal(str(part)) / Decimal(str(whole)) * 10
    return max(0, min(10, int(share))) * 10


def iso_day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return (as_utc(value).date() if isinstance(value, datetime) else value).isoformat()


@pass_context
def local_time(context: Mapping[str, Any], value: datetime | None) -> str:
    """A moment in the configured display time zone (`[display] time_zone`, default UTC), named."""
    if value is None:
        return "—"
    zone = context.get("time_zone", "UTC")
    if zone == "UTC":
        return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")
    return as_utc(value).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters.update(money=money, cents=cents, percent=percent, number=number, iso_day=iso_day,
                             local_time=local_time)
templates.env.globals.update(tenths=tenths)
templates.env.globals.update(version=version("creditgauge"))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    ctx = request.app.state.ctx
    now = ctx.now()
    page = {"demo": ctx.demo, "now": now, "csrf": request.scope.get("state", {}).get("csrf", ""),
            "path": request.url.path, "time_zone": ctx.config.display.time_zone,
            "age": lambda moment: age(moment, now), **context}
    return templates.TemplateResponse(request, name, page, status_code=status_code)
