"""The Jinja2 environment of the pages and the filters that turn exact figures into text people read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.responses import Response

from creditgauge.display import age, minor_unit, money, percent
from creditgauge.display import local_time as zoned_time
from creditgauge.domain import as_utc

TEMPLATES = Path(__file__).parent / "templates"


def money_filter(value: Any, currency: str | None = None) -> str:
    """The `money` filter: display.money, with the currency after the amount when the template names one; takes
    {"amount", "currency"} figures too. 12345.678, "USD" -> "12,345.68 USD"; 0.0004 -> "<0.01"."""
    if isinstance(value, dict):
        value, currency = value.get("amount"), currency or value.get("currency")
    return money(value, currency, show_currency=True)


def number(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


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
    return zoned_time(value, context.get("time_zone", "UTC"), named=True)


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters.update(money=money_filter, percent=percent, number=number, iso_day=iso_day,
                             local_time=local_time)
templates.env.globals.update(tenths=tenths, minor_unit=minor_unit)
templates.env.globals.update(version=version("creditgauge"))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    ctx = request.app.state.ctx
    now = ctx.now()
    page = {"demo": ctx.demo, "now": now, "csrf": request.scope.get("state", {}).get("csrf", ""),
            "path": request.url.path, "time_zone": ctx.config.display.time_zone, **context,
            "age": lambda moment: "never" if moment is None else age(moment, now, ago=True)}
    return templates.TemplateResponse(request, name, page, status_code=status_code)
