"""`creditgauge reconcile`: provider-reported against self-tracked spend per account and day."""

from __future__ import annotations

import typer
from rich.text import Text

from creditgauge.analysis.reconcile import EXPLAIN, DayComparison
from creditgauge.cli.context import OutputFormat, console, emit_csv, emit_json, get_session, output_format
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.display import UNKNOWN, minor_unit, money, percent
from creditgauge.service.reconcile import DEFAULT_SINCE, reconcile_report

CSV_COLUMNS = ("account", "provider", "day", "currency", "reported", "tracked", "difference", "ratio", "flagged",
               "direction", "explanation", "tolerance", "unpriced_requests")


def reconcile_command(
    since: str = typer.Option(DEFAULT_SINCE, "--since", help="First day (YYYY-MM-DD, month, 30d...). Default: 30d."),
    until: str | None = typer.Option(None, "--until", help="Last day, exclusive (default: today)."),
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one line per account and day (no breakdown)."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Reported vs tracked spend per account and day, for days past the provider's data delay; flags differences."""
    fmt = output_format(as_json, as_csv)
    report = reconcile_report(get_session(), since=since, until=until, accounts=account)
    if fmt is OutputFormat.json:
        emit_json(report.to_dict())
        return
    if fmt is OutputFormat.csv:
        emit_csv(report.to_dict()["rows"], CSV_COLUMNS)
        return
    notes = []
    for row in report.rows:
        if row.direction:
            parts = ", ".join(f"{p.dimension} {p.value} {money(p.difference, row.currency, signed=True)}"
                              for p in row.breakdown if abs(p.difference) >= minor_unit(row.currency))
            notes.append(f"{row.account} {row.day}: {EXPLAIN[row.direction]}" + (f"; {parts}" if parts else ""))
        if row.unpriced_requests:
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


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile_command)
