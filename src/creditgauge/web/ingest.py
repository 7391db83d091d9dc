"""POST /api/v1/events: usage events from any application, stored as tracked data (source "ingest").

Body: `{"events": [...]}` (or a bare list) of at most `MAX_BATCH` items in at most `MAX_BODY_BYTES` of UTF-8 JSON,
each item as `IngestEvent` below. Idempotent by event id: sending the same batch twice stores it once, and an id
repeated inside one batch is stored (and counted in the daily rollup) once. Every item is validated on its own,
including the ranges a database can hold (`INGEST_LIMITS`): the good ones are stored, each bad one is reported
(`errors[]`: index, id, field, message) and the answer is 422 if any item was refused, 200 otherwise, like OTLP's
partial success. A 200 or 422 answer means the accepted items are committed; a body that is not a batch at all
(not UTF-8, not JSON, too deep, too many items) is one 422 and stores nothing; a body over the limit is 413.
Items are priced like proxy events; a `cost` the caller sends is taken as the provider's own figure and wins.

`router` is mounted by `creditgauge serve`; `create_ingest_app()` serves it alone (tests, a dedicated ingest host).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Engine

from creditgauge import clock, limits
from creditgauge.config import Config
from creditgauge.domain import UsageEvent, as_utc
from creditgauge.pricing import Pricer
from creditgauge.service.events import store_or_503
from creditgauge.web.body_limit import BodyLimit
from creditgauge.web.context import WebContext, web_context
from creditgauge.web.responses import ApiJSON, error_json
from creditgauge.web.schemas import ApiError, IngestAnswer

MAX_BATCH = 10_000
MAX_BODY_BYTES = 8 * 1024 * 1024  # 10,000 events of ~400 bytes fit twice over
MAX_REQUESTS = 10**6
MAX_LATENCY_MS = 86_400_000
MAX_TAGS = 50
FUTURE_SLACK = timedelta(days=1)  # callers' clocks run ahead; a later time would sit in tomorrow's reports
# The ranges every capture path shares (creditgauge.limits), plus what only a caller's batch needs.
INGEST_LIMITS = (f"token counts 0..{limits.MAX_COUNT:,}, requests 1..{MAX_REQUESTS:,}, "
                 f"cost 0..{limits.MAX_EVENT_COST:,}, ts from {limits.MIN_TIME:%Y-%m-%d} to a day ahead, "
                 f"at most {MAX_TAGS} tags, no NUL in any text")
router = APIRouter()


def storable_text(value: str) -> str:
    return limits.check_chars(value, "text")


Text = Annotated[str, AfterValidator(storable_text)]
TokenCount = Annotated[int, Field(ge=0, le=limits.MAX_COUNT)]


class IngestEvent(BaseModel):
    """One model request as reported by the caller. Token counts follow the project's convention: input_tokens
    counts every input token, cached and cache-write ones included; output_tokens includes reasoning."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Text = Field(min_length=1, max_length=64, description="the caller's event id: the idempotency key")
    account: Text = Field(min_length=1, max_length=100)
    ts: datetime = Field(description="when the request was made, ISO 8601 (naive = UTC), from 2000 to a day ahead")
    model: Text | None = Field(None, max_length=200)
    endpoint: Text = Field("chat.completions", min_length=1, max_length=120)
    input_tokens: TokenCount = 0
    cached_input_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    reasoning_tokens: TokenCount = 0
    requests: int = Field(1, ge=1, le=MAX_REQUESTS)
    tags: dict[Text, Text] = Field(default_factory=dict, max_length=MAX_TAGS)
    cost: Decimal | None = Field(None, ge=0, le=limits.MAX_EVENT_COST,
                                 description="the provider-reported cost, kept as is")
    currency: Text = Field("USD", min_length=3, max_length=8)
    status_code: int | None = Field(None, ge=100, le=599)
    incomplete: bool = False
    latency_ms: int | None = Field(None, ge=0, le=MAX_LATENCY_MS)
    request_id: Text | None = Field(None, max_length=200)

    @field_validator("cost", mode="before")
    @classmethod
    def _exact_cost(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("send the cost as a decimal string or an exact JSON number")
        return value

    @field_validator("ts")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        try:
            moment = as_utc(value)
        except OverflowError:
            raise ValueError("is outside the range of UTC times") from None
        if not limits.MIN_TIME <= moment <= clock.now() + FUTURE_SLACK:
            raise ValueError(f"must be between {limits.MIN_TIME:%Y-%m-%d} and a day from now (UTC)")
        return moment

    @field_validator("tags")
    @classmethod
    def _tag_sizes(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not key or len(key) > limits.MAX_TAG_NAME or len(value) > limits.MAX_TAG_VALUE:
                raise ValueError(f"tag names must be 1-{limits.MAX_TAG_NAME} characters and values at most "
                                 f"{limits.MAX_TAG_VALUE}")
        return tags

    @model_validator(mode="after")
    def _parts_within_totals(self) -> IngestEvent:
        if self.cached_input_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError("cached_input_tokens + cache_write_tokens exceed input_tokens (input counts them)")
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning_tokens exceed output_tokens (output counts them)")
        return self


def _batch_schema() -> dict[str, Any]:
    """The body as the OpenAPI document shows it (the route reads the raw body itself to keep numbers exact)."""
    items = {"type": "array", "maxItems": MAX_BATCH, "items": IngestEvent.model_json_schema()}
    batch = {"type": "object", "required": ["events"], "properties": {"events": items}}
    return {"oneOf": [batch, items], "description": f"limits: {INGEST_LIMITS}"}


def _item_id(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return value[:64] if isinstance(value, str) else None


def _problem(index: int | None, item_id: str | None, field: str | None, message: str) -> dict[str, Any]:
    return {"index": index, "id": item_id, "field": field, "message": message}


def _validation_problem(index: int, item: Any, error: Any) -> dict[str, Any]:
    field = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "unknown field: remove it or check its spelling"
    return _problem(index, _item_id(item), field or None, message)


def _batch_items(body: bytes) -> tuple[list[Any] | None, dict[str, Any] | None]:
    """The batch's items, or the one problem that makes the body no batch at all."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, _problem(None, None, None, f"body is not UTF-8 (byte {exc.start} cannot be decoded): "
                                               "send JSON encoded as UTF-8")
    try:
        payload = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        return None, _problem(None, None, None, f"body is not JSON ({exc.msg} at char {exc.pos})")
    except RecursionError:
        return None, _problem(None, None, None, "body is nested too deeply to be an event batch")
    except ValueError as exc:  # an integer of thousands of digits
        return None, _problem(None, None, None, f"body holds a number that cannot be read ({exc})"[:200])
    items = payload.get("events") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return None, _problem(None, None, "events", 'send {"events": [...]} or a JSON list')
    if len(items) > MAX_BATCH:
        return None, _problem(None, None, "events",
                              f"{len(items)} events in one batch; send at most {MAX_BATCH} per request")
    return items, None


Valid = list[tuple[int, IngestEvent, str]]


def parse_batch(body: bytes, config: Config) -> tuple[Valid, list[dict[str, Any]]]:
    """(valid items as (index, item, provider), per-item problems). A body that is not a batch is one problem."""
    items, refusal = _batch_items(body)
    if items is None:
        return [], [refusal] if refusal else []
    valid: Valid = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            event = IngestEvent.model_validate(item)
        except ValidationError as exc:
            problems += [_validation_problem(index, item, error) for error in exc.errors(include_url=False)]
            continue
        except RecursionError:
            problems.append(_problem(index, _item_id(item), None, "nested too deeply"))
            continue
        account = config.accounts.get(event.account)
        if account is None:
            known = ", ".join(sorted(config.accounts)) or "none configured"
            problems.append(_problem(index, event.id, "account",
                                     f"no account named {event.account!r} in the config (accounts: {known})"))
            continue
        valid.append((index, event, account.provider))
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
    unique: dict[str, tuple[int, UsageEvent]] = {}
    for index, item, provider in valid:
        if item.id in unique:  # a repeated id is the same event sent twice: stored and counted once
            continue
        event = to_usage_event(item, provider, pricer)
        if problem := limits.event_problem(event):  # the check every capture path shares, on the priced event
            problems.append(_problem(index, item.id, None, problem))
            continue
        unique[item.id] = index, event
    stored, refused = store_or_503(engine, [event for _, event in unique.values()]) if unique else (0, [])
    refused_ids = {event.id for event in refused}
    problems += [_problem(unique[event_id][0], event_id, None, "the database refused this event; check its values")
                 for event_id in sorted(refused_ids, key=lambda event_id: unique[event_id][0])]
    accepted = sum(1 for _, item, _ in valid if item.id not in refused_ids)
    answer = {"accepted": accepted, "stored": stored, "duplicates": accepted - stored,
              "rejected": len({problem["index"] for problem in problems}), "errors": problems}
    return (422 if problems else 200), answer


@router.post("/api/v1/events", tags=["ingest"], summary="Store usage events (idempotent by id)",
             response_model=IngestAnswer, responses={
                 422: {"model": IngestAnswer, "description": "some items (or the whole body) were refused; "
                                                             "the accepted ones are stored"},
                 413: {"model": ApiError, "description": f"body over {MAX_BODY_BYTES:,} bytes"},
                 503: {"model": ApiError, "description": "the database is unreachable: nothing was stored"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": _batch_schema()}}}})
async def post_events(request: Request, ctx: WebContext = Depends(web_context)) -> ApiJSON:
    body = await request.body()  # at most MAX_BODY_BYTES (BodyLimit); parsed below, not by FastAPI, so exact
    status, answer = await run_in_threadpool(ingest, ctx.config, ctx.engine, body)  # never parsed on the loop
    return ApiJSON(answer, status_code=status)


async def _error_line(_request: Request, error: Exception) -> ApiJSON:
    assert isinstance(error, HTTPException)
    return error_json(error.status_code, str(error.detail))


def create_ingest_app(config: Config, engine: Engine) -> FastAPI:
    """The ingest endpoint alone, without the dashboard (bind it to loopback or put it behind your gateway)."""
    app = FastAPI(title="creditgauge ingest", docs_url=None, redoc_url=None)
    app.state.ctx = WebContext(config, engine)
    app.add_middleware(BodyLimit, default=MAX_BODY_BYTES)
    app.add_exception_handler(HTTPException, _error_line)
    app.include_router(router)
    return app
