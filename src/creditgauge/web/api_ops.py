"""GET /api/v1/alerts, /sync/runs; POST /api/v1/sync ("sync now"); GET /metrics."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from creditgauge.errors import CreditgaugeError
from creditgauge.sync import unexpected
from creditgauge.web import answers
from creditgauge.web.context import WebContext, web_context
from creditgauge.web.metrics import CONTENT_TYPE
from creditgauge.web.responses import ApiJSON, error_json
from creditgauge.web.scheduler import Scheduler
from creditgauge.web.schemas import AlertsOverview, ApiError, SyncOverview, SyncReportOut, SyncRequest

router = APIRouter(tags=["operations"])
Ctx = Annotated[WebContext, Depends(web_context)]


def scheduler_of(request: Request) -> Scheduler:
    scheduler = request.app.state.scheduler
    if scheduler is None:
        raise HTTPException(409, "this server is read-only (serve --no-sync): run `creditgauge sync` instead")
    return cast(Scheduler, scheduler)


@router.get("/api/v1/alerts", summary="Alert rules, states and history", response_model=None,
            responses={200: {"model": AlertsOverview}})
def alerts(ctx: Ctx) -> Response:
    return ApiJSON(answers.alerts_overview(ctx))


@router.get("/api/v1/sync/runs", summary="Recent sync runs and per-source state", response_model=None,
            responses={200: {"model": SyncOverview}})
def sync_runs(ctx: Ctx) -> Response:
    return ApiJSON(answers.sync_overview(ctx))


@router.post("/api/v1/sync", summary="Sync now", response_model=None, responses={
    200: {"model": SyncReportOut}, 409: {"model": ApiError, "description": "a read-only server (serve --no-sync)"},
    500: {"model": ApiError}, 503: {"model": ApiError}})
async def sync_now(request: Request, body: SyncRequest) -> Response:
    """Run a sync of the given accounts (default all) and return its report; alerts are evaluated after it. A task
    that fails is in the report (status `partial` or `failed`); a run that breaks off (the database went away) is
    a JSON error saying so, never a bare 500."""
    scheduler = scheduler_of(request)
    try:
        report = await scheduler.sync(body.accounts, trigger="manual", full=body.full)
    except CreditgaugeError:
        raise  # the app's handler answers it (400 bad account name, 503 database, ...)
    except SQLAlchemyError as error:
        return error_json(503, f"the sync broke off, the database failed: {unexpected(error)}; what finished "
                               "before is stored (GET /api/v1/sync/runs)")
    except Exception as error:
        return error_json(500, f"the sync broke off: {unexpected(error)}; what finished before is stored "
                               "(GET /api/v1/sync/runs)")
    return ApiJSON(report.as_dict())


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(ctx: Ctx) -> Response:
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE)
