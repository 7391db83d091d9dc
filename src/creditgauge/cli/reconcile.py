"""`creditgauge reconcile`: provider-reported against self-tracked spend per account and day."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from creditgauge import clock
from creditgauge.analysis.reconcile import EXPLAIN, reconcile
from creditgauge.cli.app import app, console, emit_json, get_config, get_engine
from creditgauge.cli.status import shown
from creditgauge.dates import parse_day
from creditgauge.display import cents, percent


@app.command("reconcile")
def reconcile_command(
    since: str = typer.Option("30d", "--since", help="First day (YYYY-MM-DD, month, 30d...). Default: 30d."),
    until: str | None = typer.Option(None, "--until", help="Last day, exclusive (default: today)."),
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Reported vs tracked spend per account and day, for days past the provider's data delay; flags differences."""
    now = clock.now()
    report = reconcile(get_config(), get_engine(), since=parse_day(since, today=now.date()),
                       until=parse_day(until, today=now.date(), option="--until") if until else None, now=now,
                       accounts=account or None)
    if as_json:
        emit_json(report.to_dict())
        return
    table = Table(title=f"Reconciliation {report.since} to {report.until} (exclusive)", header_style="bold",
                  caption_justify="left")
    for header, justify in (("account", "left"), ("day", "left"), ("reported", "right"), ("tracked", "right"),
                            ("difference", "right"), ("ratio", "right"), ("flag", "left")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    notes = []
    for row in report.rows:
        direction = row.direction
        flag = Text(direction.replace("_", " "), style="bold red") if direction else Text("ok", style="green")
        table.add_row(row.account, str(row.day), f"{shown(row.reported)} {row.currency}", shown(row.tracked),
                      cents(row.difference), percent(row.ratio) or "-", flag)
        if direction:
            parts = ", ".join(f"{p.dimension} {p.value} {cents(p.difference, signed=True)}" for p in row.breakdown
                              if cents(p.difference) != "0.00")
            notes.append(f"{row.account} {row.day}: {EXPLAIN[direction]}" + (f"; {parts}" if parts else ""))
        if row.unpriced_requests:
            notes.append(f"{row.account} {row.day}: {row.unpriced_requests} tracked requests unpriced")
    notes += [f"{name}: not compared: {reason}" for name, reason in report.skipped.items()]
    table.caption = "\n".join(notes) or None
    if report.rows:
        console.print(table)
    else:
        console.print("nothing to compare in that window")
        for line in notes:
            console.print(line, markup=False)
