"""`creditgauge reconcile`: provider-reported against self-tracked spend per account and day."""

from __future__ import annotations

from typing import Any

import typer
from rich.text import Text

from creditgauge.analysis.reconcile import DayComparison
from creditgauge.cli.context import OutputFormat, console, emit_csv, emit_json, get_session, output_format
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.display import UNKNOWN, minor_unit, money, percent
from creditgauge.service.reconcile import (
    DEFAULT_SINCE,
    breakdown_columns,
    breakdown_csv_rows,
    breakdown_document,
    parse_breakdown,
    reconcile_report,
)

CSV_COLUMNS = ("account", "provider", "day", "currency", "reported", "tracked", "difference", "ratio", "flagged",
               "direction", "explanation", "tolerance", "unpriced_requests")


def reconcile_command(
    since: str = typer.Option(DEFAULT_SINCE, "--since", help="First day (YYYY-MM-DD, month, 30d...). Default: 30d."),
    until: str | None = typer.Option(None, "--until", help="Last day, exclusive (default: today)."),
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one line per account and day (no breakdown)."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
    by: str | None = typer.Option(None, "--by", help="key, project or model: the breakdown over the window, "
                                  "with names, instead of the days."),
) -> None:
    """Reported vs tracked spend per account and day, for days past the provider's data delay; flags differences."""
    fmt = output_format(as_json, as_csv)
    dimension = parse_breakdown(by) if by is not None else None
    report = reconcile_report(get_session(), since=since, until=until, accounts=account)
    if dimension is not None:
        _print_breakdown(breakdown_document(report.to_dict(), dimension), fmt, wide)
        return
    if fmt is OutputFormat.json:
        emit_json(report.to_dict())
        return
    if fmt is OutputFormat.csv:
        emit_csv(report.to_dict()["rows"], CSV_COLUMNS)
        return
    notes = []
    for row in report.rows:
        if row.direction:
            parts = ", ".join(f"{p.dimension} {report.names.get(p.dimension, {}).get(p.value) or p.value} "
                              f"{money(p.difference, row.currency, signed=True)}"
                              for p in row.breakdown if abs(p.difference) >= minor_unit(row.currency))
            notes.append(f"{row.account} {row.day}: {row.explanation}" + (f"; {parts}" if parts else ""))
        elif row.unpriced_requests:
            notes.append(f"{row.account} {row.day}: {row.unpriced_requests} tracked requests unpriced")
    notes += [f"{name}: not compared: {reason}" for name, reason in report.skipped.items()]
    if not report.rows:
        console.print("nothing to compare in that window")
        for line in notes:
            console.print(line, markup=False)
        return
    print_fitted(console, FittedTable(f"Reconciliation {report.since} to {report.until} (exclusive)",
                                      _columns(report.rows), notes, shows_all="--wide or --json", wide=wide))


def _columns(rows: list[DayComparison]) -> list[Column]:
    return [
        Column("account", [row.account for row in rows], keep=True),
        Column("day", [str(row.day) for row in rows], keep=True),
        Column("reported", [money(row.reported, row.currency, show_currency=True) for row in rows], "right",
               keep=True),
        Column("tracked", [money(row.tracked, row.currency) for row in rows], "right", keep=True),
        Column("difference", [money(row.difference, row.currency) for row in rows], "right", priority=1),
        Column("ratio", [percent(row.ratio) or UNKNOWN for row in rows], "right"),
        Column("flag", [_flag(row) for row in rows], keep=True),
    ]


def _flag(row: DayComparison) -> Text:
    direction = row.direction
    return Text(direction.replace("_", " "), style="bold red") if direction else Text("ok", style="green")


def _print_breakdown(document: dict[str, Any], fmt: OutputFormat, wide: bool) -> None:
    dimension, rows = document["by"], document["rows"]
    if fmt is OutputFormat.json:
        emit_json(document)
        return
    if fmt is OutputFormat.csv:
        emit_csv(breakdown_csv_rows(document), breakdown_columns(dimension))
        return
    if not rows:
        console.print(f"no {dimension} carried by both reported and tracked spend in that window")
        return
    columns = [
        Column(dimension, [row[f"{dimension}_name"] or row[dimension] for row in rows], keep=True),
        Column("account", [row["account"] for row in rows], priority=1),
        Column("reported", [money(row["reported"], row["currency"], show_currency=True) for row in rows], "right",
               keep=True),
        Column("tracked", [money(row["tracked"], row["currency"]) for row in rows], "right", keep=True),
        Column("difference", [money(row["difference"], row["currency"]) for row in rows], "right", keep=True),
        Column("flagged days", [" ".join(str(day) for day in row["flagged_days"]) for row in rows], wrap=24),
    ]
    title = f"Reconciliation by {dimension} {document['since']} to {document['until']} (exclusive)"
    print_fitted(console, FittedTable(title, columns, shows_all="--wide or --json", wide=wide))


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile_command)
