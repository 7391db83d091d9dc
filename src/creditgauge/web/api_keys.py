"""GET /api/v1/keys: the document of `creditgauge keys --json` (or its CSV rows)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from creditgauge.analysis.accounts import select_accounts
from creditgauge.service.keys import COLUMNS, csv_rows, keys_report, keys_window
from creditgauge.web.api_reports import Accounts
from creditgauge.web.context import WebContext, web_context
from creditgauge.web.responses import ApiJSON, csv_response
from creditgauge.web.schemas import CSV_CONTENT, DAY_PATTERN, Rows

router = APIRouter(prefix="/api/v1", tags=["keys"])
Ctx = Annotated[WebContext, Depends(web_context)]
Since = Annotated[str | None, Query(description="First day, inclusive (YYYY-MM-DD, month, Nd). Default: 30 days "
                                                "ago.", json_schema_extra={"pattern": DAY_PATTERN})]
Until = Annotated[str | None, Query(description="Last day, exclusive. Default: through today.",
                                    json_schema_extra={"pattern": DAY_PATTERN})]
Days = Annotated[int | None, Query(description="The last N days, today included (instead of since).", ge=1)]
Key = Annotated[str | None, Query(description="A provider key id or a fingerprint: adds `key`, its days.")]
Format = Annotated[Literal["json", "csv"], Query(description="json (the document) or csv (its rows).")]


def keys_for(ctx: WebContext, since: str | None, until: str | None, days: int | None,
             accounts: list[str] | None, key: str | None = None) -> dict[str, Any]:
    window = keys_window(today=ctx.today(), since=since, until=until, days=days)
    named = [a.name for a in select_accounts(ctx.config, accounts)] if accounts else None
    return keys_report(ctx.config, ctx.engine, window, named, key)


@router.get("/keys", summary="API keys, their spend and leak suspects", response_model=None,
            responses={200: {"model": Rows, "content": CSV_CONTENT}})
def keys(ctx: Ctx, since: Since = None, until: Until = None, days: Days = None, account: Accounts = None,
         key: Key = None, format: Format = "json") -> Response:
    """Every API key the providers list (and every tracked key fingerprint): name, redacted value as the provider
    shows it, owner, project or workspace, created and last used, reported and tracked spend over the window, the
    difference and the days a key spent beyond what was tracked (a leak suspect)."""
    report = keys_for(ctx, since, until, days, account, key)
    if format == "csv":
        return csv_response(csv_rows(report), COLUMNS, "keys.csv")
    return ApiJSON(report)
