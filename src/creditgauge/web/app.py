"""The FastAPI application of `creditgauge serve`: pages, the JSON API, ingest, /metrics and the scheduled sync."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib.metadata import version
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException  # FastAPI's is a subclass; the router raises this one
from starlette.responses import Response
from starlette.types import Scope

from creditgauge.config import Config
from creditgauge.errors import ConfigError, CreditgaugeError, ProviderError, StoreError
from creditgauge.redact import redact, register_secret
from creditgauge.service import syncing
from creditgauge.web import answers, api_accounts, api_keys, api_ops, api_reports, ingest, otlp, pages
from creditgauge.web.body_limit import BodyLimit
from creditgauge.web.context import WebContext
from creditgauge.web.metrics import AnswersCollector
from creditgauge.web.responses import ApiJSON, error_json, wants_json
from creditgauge.web.scheduler import Scheduler
from creditgauge.web.schemas import ERROR_STATUSES
from creditgauge.web.security import AccessGuard
from creditgauge.web.templating import templates

STATIC = Path(__file__).parent / "static"
logger = logging.getLogger(__name__)
API_DESCRIPTION = """Every figure the dashboard shows, as JSON. Amounts are exact decimal strings with a `currency`
field; times are ISO 8601 UTC. The report endpoints return the same document as the CLI's `--json`.
When the server has a token, send it as `Authorization: Bearer <token>`. Changes are POST with a JSON body."""


def _status_of(error: CreditgaugeError) -> int:
    if isinstance(error, ConfigError):
        return 400
    if isinstance(error, StoreError):
        return 503
    if isinstance(error, ProviderError):
        return 502
    return 500


def create_app(config: Config, engine: Engine, *, token: str | None = None, demo: bool = False,
               scheduler: bool = True) -> FastAPI:
    """The whole server. `token` None means loopback only; `scheduler` False is `serve --no-sync` (read-only:
    no scheduled sync and no "sync now")."""
    if token:
        register_secret(token)
    ctx = WebContext(config=config, engine=engine, demo=demo)
    ctx.metrics.watch_store(AnswersCollector(lambda: answers.status_rows(ctx), lambda: syncing.sync_states(ctx),
                                             lambda: syncing.quarantine_counts(ctx)))
    syncer = Scheduler(config, engine, metrics=ctx.metrics, now=ctx.now,
                       after_sync=lambda: answers.evaluate_alerts(ctx))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(syncer.run_forever(), name="creditgauge-scheduler") if scheduler else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="creditgauge", version=version("creditgauge"), description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,  # the stock docs pages load a CDN
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.scheduler = syncer if scheduler else None
    app.state.token = token

    async def login_page(scope: Scope, message: str, status: int) -> Response:
        return templates.TemplateResponse(Request(scope), "login.html", {
            "demo": demo, "message": message, "csrf": scope["state"]["csrf"], "path": scope["path"]},
            status_code=status)

    app.add_middleware(BodyLimit, limits={"/api/v1/events": ingest.MAX_BODY_BYTES, **otlp.BODY_LIMITS})
    app.add_middleware(AccessGuard, token=token, login_page=login_page)
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (api_reports, api_accounts, api_keys, api_ops, ingest, otlp):
        app.include_router(module.router, responses=ERROR_STATUSES)
    app.include_router(pages.router)
    return app


def _error_response(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return error_json(status, message)
    return pages.error_page(request, status, message)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CreditgaugeError)
    async def _creditgauge_error(request: Request, error: CreditgaugeError) -> Response:
        return _error_response(request, _status_of(error), redact(str(error)))

    async def _database_unavailable(request: Request, error: Exception) -> Response:
        logger.warning("database unavailable on %s: %s", request.url.path, redact(str(error).splitlines()[0]))
        return _error_response(request, 503, "the database did not answer; try again in a moment "
                                             "(the server log has the database's message)")

    for unavailable in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(unavailable, _database_unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        logger.error("unexpected error on %s %s: %s", request.method, request.url.path,
                     redact(f"{type(error).__name__}: {error}"))
        return _error_response(request, 500, "creditgauge failed on this request (a bug: the server log has the "
                                             "details; please report it)")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> Response:
        response = _error_response(request, error.status_code, redact(str(error.detail)))
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = jsonable_encoder(error.errors())
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", []))
        return ApiJSON({"error": redact(f"{where}: {first.get('msg')}"), "detail": problems}, status_code=422)
