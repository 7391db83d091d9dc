"""`creditgauge spend` and `creditgauge usage`: tables, --json and --csv over reported or tracked data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from creditgauge import clock
from creditgauge.cli.app import (
    OutputFormat,
    app,
    console,
    emit_csv,
    emit_json,
    get_config,
    get_engine,
    output_format,
    print_table,
)
from creditgauge.dates import parse_day
from creditgauge.reports import (
    SPEND_SOURCES,
    USAGE_SOURCES,
    ReportQuery,
    Source,
    parse_by,
    parse_source,
    spend_report,
    usage_report,
)

SINCE_HELP = "First day, inclusive (YYYY-MM-DD, today, yesterday, month, 30d). Default: start of this month."
UNTIL_HELP = "Last day, exclusive (default: through today)."
BY_HELP = ("Group by, comma-separated: day, month, account, provider, project, model, line_item, api_key, "
           "workspace, service_tier; tracked data also key, endpoint, source, tag:<name>.")


NOT_REPORTED = "not reported"


def report_query(since: str | None, until: str | None, by: list[str], source: str, accounts: list[str],
                 sources: Sequence[Source] = SPEND_SOURCES) -> ReportQuery:
    today = clock.now().date()
    return ReportQuery(
        since=parse_day(since, today=today) if since else today.replace(day=1),
        until=parse_day(until, today=today, option="--until") if until else None,
        by=by, source=parse_source(source, sources), today=today,
        late_window_days=get_config().sync.late_window_days, accounts=accounts or None, fx=get_config().fx,
    )


@app.command()
def spend(
    since: str | None = typer.Option(None, "--since", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", help=UNTIL_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    source: str = typer.Option("best", "--source", help="best (default: the provider's report where posted, "
                               "tracked spend for the days it has not), reported or tracked."),
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Spend table: money per day, account, provider, project, model, line item..."""
    fmt = output_format(as_json, as_csv)
    dims = parse_by(by)
    report = spend_report(get_engine(), report_query(since, until, dims, source, account))
    if fmt is OutputFormat.json:
        emit_json(report)
        return
    extra = ["unpriced_requests"] if report["source"] != "reported" else []
    if fmt is OutputFormat.csv:
        emit_csv(report["rows"], [*dims, *(["project_name"] if "project" in dims else []), "amount", "currency",
                                  *extra, *(["provisional"] if "day" in dims else [])])
        return
    _print_spend(report, dims, extra)


def _print_spend(report: dict[str, Any], dims: list[str], extra: list[str]) -> None:
    rows = report["rows"]
    if not rows:
        console.print(f"no {report['source']} spend between {report['since'].date()} and {report['until'].date()}"
                      + ("; run `creditgauge sync` first" if report["source"] == "reported" else ""))
        return
    columns = [(d, "left") for d in dims] + [("amount", "right"), ("currency", "left")]
    columns += [("unpriced req.", "right")] if extra else []
    body = []
    for row in rows:
        cells = [_dim_cell(row, d) for d in dims] + [_amount(row["amount"]), row["currency"]]
        cells += [row.get("unpriced_requests", 0) or ""] if extra else []
        body.append(cells)
    totals = "  ".join(f"{_amount(t['amount'])} {t['currency']}" for t in report["totals"])
    caption = f"total: {totals}"
    if combined := report.get("combined"):
        caption += f"   combined: {combined['amount']} {combined['currency']} ({combined['label']})"
    if report.get("provisional_since") and "day" in dims:
        caption += f"   * provisional (providers may still revise days from {report['provisional_since']})"
    if report.get("unpriced_requests"):
        caption += f"   {report['unpriced_requests']} requests unpriced (not counted as $0)"
    title = f"Spend ({report['source']}) {report['since'].date()} to {report['until'].date()} (exclusive)"
    print_table(title, columns, body, caption=caption)


def _amount(value: Any) -> Any:
    return NOT_REPORTED if value is None else value


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _dim_cell(row: dict[str, Any], dim: str) -> str:
    value = row.get(dim)
    text = "-" if value is None else str(value)
    if dim == "project" and row.get("project_name"):
        text = f"{row['project_name']} ({value})"
    if dim == "day" and row.get("provisional"):
        text += " *"
    return text


@app.command()
def usage(
    since: str | None = typer.Option(None, "--since", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", help=UNTIL_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP + " Reported usage also: kind."),
    source: str = typer.Option("reported", "--source", help="reported (provider reports) or tracked (our capture)."),
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Tokens and requests table (input includes cached and cache-write tokens; output includes reasoning)."""
    fmt = output_format(as_json, as_csv)
    dims = parse_by(by)
    report = usage_report(get_engine(), report_query(since, until, dims, source, account, USAGE_SOURCES))
    measures = list(report["totals"])
    if fmt is OutputFormat.json:
        emit_json(report)
        return
    if fmt is OutputFormat.csv:
        emit_csv(report["rows"], [*dims, *measures])
        return
    if not report["rows"]:
        console.print(f"no {report['source']} usage between {report['since'].date()} and {report['until'].date()}")
        return
    short = {"input_tokens": "input", "cached_input_tokens": "cached", "cache_write_tokens": "cache write",
             "output_tokens": "output", "reasoning_tokens": "reasoning"}
    columns = [(d, "left") for d in dims] + [(short.get(m, m), "right") for m in measures]
    body = [[_dim_cell(row, d) for d in dims] + [_count(row[m]) for m in measures] for row in report["rows"]]
    footer = ["total", *[""] * (len(dims) - 1), *[_count(report["totals"][m]) for m in measures]]
    title = f"Usage ({report['source']}) {report['since'].date()} to {report['until'].date()} (exclusive)"
    print_table(title, columns, body, footer=footer)
