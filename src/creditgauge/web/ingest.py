"""POST /api/v1/events: usage events from any application, stored as tracked data (source "ingest").

Body: `{"events": [...]}` (or a bare list), each item as `IngestEvent` below. Idempotent by event id: sending the
same batch twice stores it once. Every item is validated on its own: the good ones are stored, each bad one is
reported (`errors[]`: index, field, message) and the answer is 422 if any item was refused, 200 otherwise. A 2xx
or 422 answer means the accepted items are committed. Items are priced like proxy events; a `cost` the caller
sends is taken as the provider's own figure and wins.

`router` is mounted by `creditgauge serve`; `create_ingest_app()` serves it alone (tests, a dedicated ingest host).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Engine

from creditgauge.config import Config
from creditgauge.domain import UsageEvent, as_utc
from creditgauge.pricing import Pricer
from creditgauge.store.events import store_events
from creditgauge.web.context import WebContext, web_context
from creditgauge.web.responses import ApiJSON

MAX_BATCH = 10_000
router = APIRouter()


class IngestEvent(BaseModel):
    """One model request as reported by the caller. Token counts follow the project's convention: input_tokens
    counts every input token, cached and cache-write ones included; output_tokens includes reasoning."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64, description="the caller's event id: the idempotency key")
    account: str = Field(min_length=1, max_length=100)
    ts: datetime = Field(description="when the request was made, ISO 8601 (naive = UTC)")
    model: str | None = Field(None, max_length=200)
    endpoint: str = Field("chat.completions", min_length=1, max_length=120)
    input_tokens: int = Field(0, ge=0)
    cached_input_tokens: int = Field(0, ge=0)
    cache_write_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)
    reasoning_tokens: int = Field(0, ge=0)
    requests: int = Field(1, ge=1)
    tags: dict[str, str] = Field(default_factory=dict)
    cost: Decimal | None = Field(None, ge=0, description="the provider-reported cost, kept as is")
    currency: str = Field("USD", min_length=3, max_length=8)
    status_code: int | None = Field(None, ge=100, le=599)
    incomplete: bool = False
    latency_ms: int | None = Field(None, ge=0)
    request_id: str | None = Field(None, max_length=200)

    @field_validator("cost", mode="before")
    @classmethod
    def _exact_cost(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("send the cost as a decimal string or an exact JSON number")
        return value

    @field_validator("tags")
    @classmethod
    def _tag_sizes(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not key or len(key) > 100 or len(value) > 300:
                raise ValueError("tag names must be 1-100 characters and values at most 300")
        return tags

    @model_validator(mode="after")
    def _parts_within_totals(self) -> IngestEvent:
        if self.cached_input_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError("cached_input_tokens + cache_write_tokens exceed input_tokens (input counts them)")
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning_tokens exceed output_tokens (output counts them)")
        return self


def _problem(index: int, error: dict[str, Any]) -> dict[str, Any]:
    field = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "unknown field: remove it or check its spelling"
    return {"index": index, "field": field or None, "message": message}


def parse_batch(body: bytes, config: Config) -> tuple[list[tuple[IngestEvent, str]], list[dict[str, Any]]]:
    """(valid items with their provider, per-item problems). A body that is not a batch at all is one problem."""
    try:
        payload = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        return [], [{"index": None, "field": None, "message": f"body is not JSON ({exc.msg} at char {exc.pos})"}]
    items = payload.get("events") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return [], [{"index": None, "field": "events", "message": 'send {"events": [...]} or a JSON list'}]
    if len(items) > MAX_BATCH:
        return [], [{"index": None, "field": "events",
                     "message": f"{len(items)} events in one batch; send at most {MAX_BATCH} per request"}]
    valid: list[tuple[IngestEvent, str]] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            event = IngestEvent.model_validate(item)
        except ValidationError as exc:
            problems += [_problem(index, error) for error in exc.errors(include_url=False)]
            continue
        account = config.accounts.get(event.account)
        if account is None:
            known = ", ".join(sorted(config.accounts)) or "none configured"
            problems.append({"index": index, "field": "account",
                             "message": f"no account named {event.account!r} in the config (accounts: {known})"})
            continue
        valid.append((event, account.provider))
    return valid, problems


def to_usage_event(item: IngestEvent, provider: str, pricer: Pricer) -> UsageEvent:
    event = UsageEvent(
        id=item.id, account=item.account, provider=provider, ts=as_utc(item.ts), model=item.model,
        endpoint=item.endpoint, source="ingest", input_tokens=item.input_tokens,
        cached_input_tokens=item.cached_input_tokens, cache_write_tokens=item.cache_write_tokens,
        output_tokens=item.output_tokens, reasoning_tokens=item.reasoning_tokens, requests=item.requests,
        tags=item.tags, status_code=item.status_code, incomplete=item.incomplete, latency_ms=item.latency_ms,
        request_id=item.request_id,
    )
    pricer.apply(event, provider_cost=item.cost)
    if item.cost is not None:
        event.currency = item.currency.upper()
    return event


_pricers: dict[int, tuple[Config, Pricer]] = {}


def _pricer(config: Config) -> Pricer:
    """One pricer (and so one price cache) per config, not one per batch."""
    cached = _pricers.get(id(config))
    if cached is None or cached[0] is not config:
        cached = _pricers[id(config)] = (config, Pricer.from_config(config))
    return cached[1]


def ingest(config: Config, engine: Engine, body: bytes) -> tuple[int, dict[str, Any]]:
    """Validate, price and store one batch: (HTTP status, answer)."""
    valid, problems = parse_batch(body, config)
    pricer = _pricer(config)
    events = [to_usage_event(item, provider, pricer) for item, provider in valid]
    stored = store_events(engine, events, count_new=True) if events else 0
    answer = {"accepted": len(events), "stored": stored, "duplicates": len(events) - stored,
              "rejected": len({p["index"] for p in problems}), "errors": problems}
    return (422 if problems else 200), answer


@router.post("/api/v1/events", tags=["ingest"], summary="Store usage events (idempotent by id)")
async def post_events(request: Request, ctx: WebContext = Depends(web_context)) -> ApiJSON:
    body = await request.body()  # parsed here, not by FastAPI, so numbers stay exact Decimals
    status, answer = await run_in_threadpool(ingest, ctx.config, ctx.engine, body)
    return ApiJSON(answer, status_code=status)


def create_ingest_app(config: Config, engine: Engine) -> FastAPI:
    """The ingest endpoint alone, without the dashboard (bind it to loopback or put it behind your gateway)."""
    app = FastAPI(title="creditgauge ingest", docs_url=None, redoc_url=None)
    app.state.ctx = WebContext(config, engine)
    app.include_router(router)
    return app
