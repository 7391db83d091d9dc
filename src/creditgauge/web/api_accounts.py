"""GET /api/v1/status, /balances, /reconcile and the ledger (GET, POST add, POST remove)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from creditgauge.errors import ConfigError
from creditgauge.service.reconcile import breakdown_document, parse_breakdown
from creditgauge.web import answers
from creditgauge.web.api_reports import Since, Until
from creditgauge.web.context import WebContext, web_context
from creditgauge.web.responses import ApiJSON
from creditgauge.web.schemas import ApiError, LedgerEntry, LedgerEntryIn, Rows

router = APIRouter(prefix="/api/v1", tags=["accounts"])
Breakdown = Annotated[str | None, Query(description="key, project or model: the breakdown over the window, with "
                                                    "names.")]
Ctx = Annotated[WebContext, Depends(web_context)]


@router.get("/status", summary="Status per account", response_model=None, responses={200: {"model": Rows}})
def status(ctx: Ctx) -> Response:
    """Per account and currency: balance with its kind, month-to-date spend, limit, burn, runway and state,
    forecast and sync freshness (the document of `creditgauge status --json`)."""
    return ApiJSON(answers.status_report(ctx))


@router.get("/balances", summary="Balances", response_model=None, responses={200: {"model": Rows}})
def balances(ctx: Ctx) -> Response:
    """Latest balance per account and currency: amount, kind (verified, estimated, limit_only), as_of."""
    return ApiJSON(answers.balance_report(ctx))


@router.get("/reconcile", summary="Reported vs tracked", response_model=None, responses={200: {"model": Rows}})
def reconcile(ctx: Ctx, since: Since = None, until: Until = None, by: Breakdown = None) -> Response:
    """Per account and day: provider-reported vs self-tracked spend, difference, ratio, flagged days; with `by`
    (key, project or model), the breakdown over the window with names (`reconcile --by ... --json`)."""
    if by is not None:
        dimension = parse_breakdown(by, option="by")
        return ApiJSON(breakdown_document(answers.reconcile_report(ctx, since, until), dimension))
    return ApiJSON(answers.reconcile_report(ctx, since, until))


@router.get("/ledger", summary="Ledger entries", response_model=None, responses={200: {"model": Rows}})
def ledger(ctx: Ctx) -> Response:
    """Deposits, grants and adjustments the user recorded."""
    return ApiJSON(answers.ledger_list(ctx))


@router.post("/ledger", summary="Add a ledger entry", status_code=201, response_model=None,
             responses={201: {"model": LedgerEntry}})
def ledger_add(ctx: Ctx, entry: LedgerEntryIn) -> Response:
    """Record a deposit, a grant (with its expiry) or an adjustment."""
    return ApiJSON(answers.ledger_add(ctx, **entry.model_dump()), status_code=201)


@router.post("/ledger/{entry_id}/remove", summary="Remove a ledger entry", response_model=None,
             responses={200: {"model": LedgerEntry}, 404: {"model": ApiError, "description": "no such entry"}})
def ledger_remove(ctx: Ctx, entry_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    try:
        return ApiJSON(answers.ledger_remove(ctx, entry_id))
    except ConfigError as missing:  # the only refusal of a remove: the id is not in the ledger
        raise HTTPException(404, str(missing)) from None
