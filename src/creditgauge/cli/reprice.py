"""`creditgauge reprice`: recompute tracked events' cost after a price change."""

from __future__ import annotations

import typer

from creditgauge.cli.context import console, emit_json, get_config, get_engine
from creditgauge.dates import parse_day
from creditgauge.domain import day_start, utcnow


def reprice(
    since: str = typer.Option(..., "--since", help="First day of events to reprice (YYYY-MM-DD, 30d, month...)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recompute the cost of tracked events from --since on with today's prices and config overrides.
    Safe to run again: unchanged events are left alone; costs reported by the provider itself are kept."""
    from creditgauge.capture.reprice import reprice as run_reprice
    from creditgauge.pricing import Pricer

    start = day_start(parse_day(since, today=utcnow().date()))
    report = run_reprice(get_engine(), Pricer.from_config(get_config()), since=start)
    if as_json:
        emit_json({"since": start, "checked": report.checked, "changed": report.changed,
                   "unpriced": report.unpriced, "provider_priced": report.provider_priced})
        return
    console.print(f"repriced tracked events since {start.date()}: {report.checked} checked, {report.changed} "
                  f"changed, {report.unpriced} unpriced, {report.provider_priced} kept the provider's cost")


def register(app: typer.Typer) -> None:
    app.command()(reprice)
