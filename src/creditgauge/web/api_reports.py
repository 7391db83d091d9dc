"""GET /api/v1/spend and /api/v1/usage: the report envelope of `creditgauge spend|usage --json`, or its CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from creditgauge.analysis.accounts import select_accounts
from creditgauge.analysis.windows import this_month
from creditgauge.dates import parse_day
from creditgauge.reports import ReportQuery, Source, parse_by, spend_report, usage_report
from creditgauge.service.names import with_name_columns
from creditgauge.store import queries
from creditgauge.web.context import WebContext, web_context
from creditgauge.web.responses import ApiJSON, csv_response
from creditgauge.web.schemas import CSV_CONTENT, DAY_PATTERN, SpendReport, UsageReport

router = APIRouter(prefix="/api/v1", tags=["reports"])

Since = Annotated[str | None, Query(description="First day, inclusive: YYYY-MM-DD, today, yesterday, month or Nd "
                                                "(e.g. 30d). Default: start of this month.",
                                    json_schema_extra={"pattern": DAY_PATTERN})]
Until = Annotated[str | None, Query(description="Last day, exclusive (same forms). Default: through today.",
                                    json_schema_extra={"pattern": DAY_PATTERN})]
By = Annotated[str | None, Query(description="Comma-separated dimensions: day, month, account, provider, project, "
                                             "model, line_item, api_key, workspace, service_tier; tracked data also "
                                             "key, endpoint, source, tag:<name>. Default: account.")]
SpendSource = Annotated[Literal["best", "reported", "tracked"], Query(
    description="best (default: the provider's report where it has posted, tracked spend for the days it has not, "
                "each day once), reported (provider reports) or tracked (proxy, SDK hook, ingest).")]
UsageSource = Annotated[Literal["reported", "tracked"], Query(description="reported (provider reports) or tracked "
                                                                          "(proxy, SDK hook, ingest).")]
Accounts = Annotated[list[str] | None, Query(alias="account", description="Only these accounts (repeatable).")]
Format = Annotated[Literal["json", "csv"], Query(description="json (the report envelope) or csv (its rows).")]


def report_window(ctx: WebContext, since: str | None, until: str | None) -> tuple[date, date | None]:
    today = ctx.today()
    first = parse_day(since, today=today, option="since") if since else this_month(today).since
    last = parse_day(until, today=today, option="until") if until else None
    return first, last


def report_query(ctx: WebContext, since: str | None, until: str | None, by: str | None, source: Source,
                 accounts: list[str] | None) -> ReportQuery:
    first, last = report_window(ctx, since, until)
    named = [a.name for a in select_accounts(ctx.config, accounts)] if accounts else None  # unknown: 400, as the CLI
    return ReportQuery(since=first, until=last, by=parse_by(by), source=source, today=ctx.today(),
                       late_window_days=ctx.config.sync.late_window_days, accounts=named, fx=ctx.config.fx)


def spend_for(ctx: WebContext, since: str | None, until: str | None, by: str | None, source: Source,
              accounts: list[str] | None) -> dict[str, Any]:
    return spend_report(ctx.engine, report_query(ctx, since, until, by, source, accounts))


def usage_for(ctx: WebContext, since: str | None, until: str | None, by: str | None, source: Source,
              accounts: list[str] | None) -> dict[str, Any]:
    return usage_report(ctx.engine, report_query(ctx, since, until, by, source, accounts))


def spend_columns(report: dict[str, Any]) -> list[str]:
    by = report["by"]
    return [*with_name_columns(by), "amount", "currency",
            *(["unpriced_requests"] if report["source"] != "reported" else []),
            *(["provisional"] if "day" in by else [])]


def usage_columns(report: dict[str, Any]) -> list[str]:
    by = report["by"]
    measures = [m for m in (*queries.USAGE_MEASURES, *queries.EXTRA_USAGE_MEASURES)
                if report["rows"] and m in report["rows"][0]] or list(queries.USAGE_MEASURES)
    return [*with_name_columns(by), *measures,
            *(["provisional"] if "day" in by else [])]


@router.get("/spend", summary="Spend report", response_model=None,
            responses={200: {"model": SpendReport, "content": CSV_CONTENT}})
def spend(ctx: Annotated[WebContext, Depends(web_context)], since: Since = None, until: Until = None,
          by: By = None, source: SpendSource = "best", account: Accounts = None,
          format: Format = "json") -> Response:
    """Money per the `by` dimensions, one row per combination and currency, with totals per currency."""
    report = spend_for(ctx, since, until, by, source, account)
    if format == "csv":
        return csv_response(report["rows"], spend_columns(report), f"spend-{source}.csv")
    return ApiJSON(report)


@router.get("/usage", summary="Usage report", response_model=None,
            responses={200: {"model": UsageReport, "content": CSV_CONTENT}})
def usage(ctx: Annotated[WebContext, Depends(web_context)], since: Since = None, until: Until = None,
          by: By = None, source: UsageSource = "reported", account: Accounts = None,
          format: Format = "json") -> Response:
    """Tokens (input includes cached and cache-write; output includes reasoning) and requests per the dimensions."""
    report = usage_for(ctx, since, until, by, source, account)
    if format == "csv":
        return csv_response(report["rows"], usage_columns(report), f"usage-{source}.csv")
    return ApiJSON(report)
