"""`creditgauge spend` and `creditgauge usage`: tables, --json and --csv over reported or tracked data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from creditgauge.cli.context import OutputFormat, console, emit_csv, emit_json, get_engine, get_session, output_format
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.display import NOT_REPORTED, UNKNOWN, money
from creditgauge.service import reports
from creditgauge.service.names import NAME_COLUMNS
from creditgauge.service.reports import SPEND_SOURCES, USAGE_SOURCES, ReportQuery, Source, parse_by, parse_source

SINCE_HELP = "First day, inclusive (YYYY-MM-DD, today, yesterday, month, 30d). Default: start of this month."
UNTIL_HELP = "Last day, exclusive (default: through today)."
BY_HELP = ("Group by, comma-separated: day, month, account, provider, project, model, line_item, api_key, "
           "workspace, service_tier; tracked data also key, endpoint, source, tag:<name>.")


def report_query(since: str | None, until: str | None, by: list[str], source: str, accounts: list[str],
                 sources: Sequence[Source] = SPEND_SOURCES) -> ReportQuery:
    return reports.report_query(get_session(), since=since, until=until, by=by, source=parse_source(source, sources),
                                accounts=accounts)


def spend(
    since: str | None = typer.Option(None, "--since", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", help=UNTIL_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    source: str = typer.Option("best", "--source", help="best (default: the provider's report where posted, "
                               "tracked spend for the days it has not), reported or tracked."),
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Spend table: money per day, account, provider, project, model, line item..."""
    fmt = output_format(as_json, as_csv)
    dims = parse_by(by)
    report = reports.spend_report(get_engine(), report_query(since, until, dims, source, account))
    if fmt is OutputFormat.json:
        emit_json(report)
        return
    extra = ["unpriced_requests"] if report["source"] != "reported" else []
    if fmt is OutputFormat.csv:
        emit_csv(report["rows"], reports.spend_columns(report))
        return
    _print_spend(report, dims, extra, wide)


def _print_spend(report: dict[str, Any], dims: list[str], extra: list[str], wide: bool) -> None:
    rows = report["rows"]
    if not rows:
        console.print(f"no {report['source']} spend between {report['since'].date()} and {report['until'].date()}"
                      + ("; run `creditgauge sync` first" if report["source"] == "reported" else ""))
        return
    columns = [
        *_label_columns(rows, dims),
        Column("amount", [_amount(row) for row in rows], "right", keep=True),
        Column("currency", [row["currency"] for row in rows], keep=True),
    ]
    if extra:
        columns.append(Column("unpriced req.", [_count(row["unpriced_requests"]) if row.get("unpriced_requests")
                                                else "" for row in rows], "right"))
    totals = "  ".join(_amount(total, show_currency=True) for total in report["totals"])
    notes = [f"total: {totals}"]
    if combined := report.get("combined"):
        notes.append(f"combined: {money(combined['amount'], combined['currency'], show_currency=True)} "
                     f"({combined['label']})")
    if report.get("provisional_since") and "day" in dims:
        notes.append(f"* provisional (providers may still revise days from {report['provisional_since']})")
    if report.get("unpriced_requests"):
        notes.append(f"{report['unpriced_requests']} requests unpriced (not counted as $0)")
    title = f"Spend ({report['source']}) {report['since'].date()} to {report['until'].date()} (exclusive)"
    print_fitted(console, FittedTable(title, columns, notes, wide=wide))


def _label_columns(rows: list[dict[str, Any]], dims: list[str]) -> list[Column]:
    """The dimensions a report is grouped by: the names, always kept whole (a project's id only with room)."""
    return [Column(dim, [_dim_cell(row, dim) for row in rows], keep=True,
                   short=[row.get(NAME_COLUMNS[dim]) or _dim_cell(row, dim) for row in rows]
                   if dim in NAME_COLUMNS else None)
            for dim in dims]


def _amount(row: dict[str, Any], *, show_currency: bool = False) -> str:
    """A spend amount for the eye; one nobody reported (a day not posted, an unpriced model) says so."""
    if row["amount"] is None:
        return NOT_REPORTED + (f" ({row['currency']})" if show_currency else "")
    return money(row["amount"], row["currency"], show_currency=show_currency)


def _count(value: int | None) -> str:
    """A count for the eye; one nobody reported reads "—", never 0."""
    return UNKNOWN if value is None else f"{value:,}"


def _dim_cell(row: dict[str, Any], dim: str) -> str:
    value = row.get(dim)
    text = "-" if value is None else str(value)
    if dim in NAME_COLUMNS and row.get(NAME_COLUMNS[dim]):
        text = f"{row[NAME_COLUMNS[dim]]} ({value})"
    if dim == "day" and row.get("provisional"):
        text += " *"
    return text


def usage(
    since: str | None = typer.Option(None, "--since", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", help=UNTIL_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP + " Reported usage also: kind."),
    source: str = typer.Option("reported", "--source", help="reported (provider reports) or tracked (our capture)."),
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Tokens and requests table (input includes cached and cache-write tokens; output includes reasoning)."""
    fmt = output_format(as_json, as_csv)
    dims = parse_by(by)
    report = reports.usage_report(get_engine(), report_query(since, until, dims, source, account, USAGE_SOURCES))
    if fmt is OutputFormat.json:
        emit_json(report)
        return
    if fmt is OutputFormat.csv:
        emit_csv(report["rows"], reports.usage_columns(report))
        return
    if not report["rows"]:
        console.print(f"no {report['source']} usage between {report['since'].date()} and {report['until'].date()}")
        return
    _print_usage(report, dims, wide)


# Input and output are always shown; the other measures make room in this order when the terminal is narrow (the
# last listed is left out first, after any measure not listed here).
USAGE_MEASURES = {"input_tokens": "input", "output_tokens": "output", "requests": "requests",
                  "cached_input_tokens": "cached", "reasoning_tokens": "reasoning", "cache_write_tokens": "cache write"}
ALWAYS_SHOWN = ("input_tokens", "output_tokens")


def _print_usage(report: dict[str, Any], dims: list[str], wide: bool) -> None:
    rows, totals = report["rows"], report["totals"]
    ranks = list(reversed(USAGE_MEASURES))
    columns = _label_columns(rows, dims)
    if columns:
        columns[0].footer = "total"
    columns += [Column(USAGE_MEASURES.get(m, m), [_count(row.get(m)) for row in rows], "right",
                       keep=m in ALWAYS_SHOWN, priority=ranks.index(m) + 1 if m in ranks else 0,
                       footer=_count(totals[m]))
                for m in totals]
    title = f"Usage ({report['source']}) {report['since'].date()} to {report['until'].date()} (exclusive)"
    left_out = [f"{row['kind']}: not in the total ({row['not_in_totals']})" for row in rows if row.get("not_in_totals")]
    print_fitted(console, FittedTable(title, columns, left_out, wide=wide))


def register(app: typer.Typer) -> None:
    app.command()(spend)
    app.command()(usage)
