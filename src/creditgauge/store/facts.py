"""Writes of reported facts. A windowed source replaces its window whole, in one transaction: idempotent,
revisions replace, and a failure stores nothing and leaves what was there intact. A fact whose values are outside
what the store can hold honestly (see `fact_problem`) is not stored: it comes back as an ItemProblem, and the
other facts are stored."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select

from creditgauge.domain import (
    BalanceSnapshot,
    CostBucket,
    EndpointUnavailable,
    EntityName,
    Fact,
    Invoice,
    ItemProblem,
    LimitSnapshot,
    UsageBucket,
    Window,
    as_utc,
    utcnow,
)
from creditgauge.limits import (
    MAX_AMOUNT,
    MAX_COUNT,
    InvalidValue,
    check_amount,
    check_count,
    check_json,
    check_text,
    check_time,
)
from creditgauge.redact import redact
from creditgauge.store import schema
from creditgauge.store.upsert import upsert

DIMENSIONS = ("project", "model", "line_item", "api_key", "workspace", "service_tier")

# Reported facts are held to the same edge limits as tracked events (creditgauge.limits: amounts, counts, text,
# times, JSON), so a hostile or broken value is refused by name instead of overflowing a column or aborting a task.
SIGNED_AMOUNTS = frozenset({(BalanceSnapshot, "amount"), (Invoice, "amount")})  # a balance in debt, a credit note
MAX_DIMS_KEY_BYTES = 2000  # a bucket's natural key (every dimension in one string) must fit a database index
DETAIL_CHARS = 300  # a problem's detail quotes the bad value, cut to this length
Check = Callable[[Any, str], Any]

_TABLES: dict[type, Table] = {
    CostBucket: schema.cost_buckets, UsageBucket: schema.usage_buckets, BalanceSnapshot: schema.balance_snapshots,
    LimitSnapshot: schema.limit_snapshots, Invoice: schema.invoices, EntityName: schema.entity_names,
}


@dataclass
class StoredFacts:
    """What one store_facts call wrote (rows per table) and the items it did not store, with why."""

    counts: dict[str, int]
    problems: list[ItemProblem] = field(default_factory=list)


def problem(endpoint: str, field_name: str, detail: str) -> ItemProblem:
    """An ItemProblem whose text is safe to store and show: keys masked, no NUL or lone surrogate, bounded length."""
    clean = redact(_storable(detail))
    endpoint, field_name = _storable(endpoint), _storable(field_name)
    return ItemProblem(endpoint[:200], field_name[:200], clean if len(clean) <= DETAIL_CHARS
                       else clean[:DETAIL_CHARS] + "...")


def _storable(text: str) -> str:
    return text.replace("\x00", "\\0").encode("utf-8", "replace").decode("utf-8")


def _check_time(value: datetime, name: str) -> datetime:
    return check_time(as_utc(value), name)  # the store reads a naive time as UTC, so may a fact


def _check_for(cls: type, spec: dataclasses.Field[Any]) -> Check | None:
    """The edge check of one field of a fact type, chosen by its declared type (None: nothing to check)."""
    declared = str(spec.type).removesuffix(" | None")
    if declared == "datetime":
        return _check_time
    if declared == "int":
        return check_count
    if declared == "Decimal":  # an amount of money, or a quantity of units (tokens, seconds) as large as a count
        if spec.name == "amount":
            return functools.partial(check_amount, allow_negative=(cls, spec.name) in SIGNED_AMOUNTS)
        return functools.partial(check_amount, maximum=Decimal(MAX_COUNT))
    if declared == "str":
        column = _TABLES[cls].c.get(spec.name)
        length = getattr(column.type, "length", None) if column is not None else None
        return functools.partial(check_text, max_length=length) if length else check_text
    if declared.startswith("dict"):
        return check_json
    return None  # a flag


_CHECKS: dict[type[Any], tuple[tuple[str, Check], ...]] = {}


def _checks(cls: type[Any]) -> tuple[tuple[str, Check], ...]:
    """The checks of a fact class's fields, worked out once per class."""
    found = _CHECKS.get(cls)
    if found is None:
        found = _CHECKS[cls] = tuple((spec.name, check) for spec in dataclasses.fields(cls)
                                     if (check := _check_for(cls, spec)) is not None)
    return found


def fact_problem(fact: Fact, endpoint: str) -> ItemProblem | None:
    """Why this fact cannot be stored as it is (the first field at fault), or None when it can. (A bucket's
    dimensions taken together are checked where its row is built: see `_merge`.)"""
    if isinstance(fact, ItemProblem):
        return problem(fact.endpoint, fact.field, fact.detail)
    if isinstance(fact, EndpointUnavailable):
        return None
    try:
        for name, check in _checks(type(fact)):
            value = getattr(fact, name)
            if value is not None:
                check(value, name)
    except InvalidValue as error:
        return problem(endpoint, error.field, error.detail)
    if isinstance(fact, CostBucket | UsageBucket) and fact.end < fact.start:
        return problem(endpoint, "end",
                       f"the bucket ends ({fact.end.isoformat()}) before it starts ({fact.start.isoformat()})")
    return None


def dims_key(fact: CostBucket | UsageBucket) -> str:
    values = [getattr(fact, name, None) for name in DIMENSIONS]
    parts = ["" if value is None else str(value) for value in values]
    parts += [f"{k}={fact.extra[k]}" for k in sorted(fact.extra) if k.startswith("dim_")]
    return "\x1f".join(parts)


def _cost_row(account: str, source: str, fact: CostBucket, now: datetime) -> dict[str, Any]:
    return {
        "account": account,
        "source": source,
        "start_time": fact.start,
        "end_time": fact.end,
        "dims_key": dims_key(fact),
        **{name: getattr(fact, name) for name in DIMENSIONS},
        "amount": fact.amount,
        "currency": fact.currency.upper(),
        "quantity": None if fact.quantity is None else str(fact.quantity),
        "quantity_unit": fact.quantity_unit,
        "official": True,
        "extra": fact.extra or None,
        "fetched_at": now,
    }


_USAGE_MEASURES = (
    "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
    "requests", "images", "characters", "seconds",
)


def _usage_row(account: str, source: str, fact: UsageBucket, now: datetime) -> dict[str, Any]:
    return {
        "account": account,
        "source": source,
        "kind": fact.kind,
        "start_time": fact.start,
        "end_time": fact.end,
        "dims_key": dims_key(fact),
        **{name: getattr(fact, name) for name in DIMENSIONS if name != "line_item"},
        "line_item": None,
        **{name: int(getattr(fact, name)) for name in _USAGE_MEASURES},
        "extra": fact.extra or None,
        "fetched_at": now,
    }


def _merge(
    rows: list[dict[str, Any]], key_fields: tuple[str, ...], sum_fields: tuple[str, ...], *, limit: Decimal | int,
    endpoint: str, problems: list[ItemProblem],
) -> list[dict[str, Any]]:
    """Providers may split one natural key over several result rows; store them as one row, summed. A sum that
    leaves the accepted range is not stored (each part was in range; together they are not believable)."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in key_fields)
        if key in merged:
            for name in sum_fields:
                merged[key][name] += row[name]
        else:
            merged[key] = dict(row)
    kept = []
    for row in merged.values():
        key_bytes = len(row["dims_key"]) if row["dims_key"].isascii() else len(row["dims_key"].encode("utf-8"))
        too_big = next((name for name in sum_fields if abs(row[name]) > limit), None)
        if key_bytes > MAX_DIMS_KEY_BYTES:
            problems.append(problem(endpoint, "extra", f"its dimensions take {key_bytes:,} bytes (at most "
                                                       f"{MAX_DIMS_KEY_BYTES:,})"))
        elif too_big is not None:
            day = row["start_time"].isoformat()
            problems.append(problem(endpoint, too_big, f"the rows for {day} sum to {row[too_big]}, outside the "
                                                       f"accepted range (at most {limit:,})"))
        else:
            kept.append(row)
    return kept


def ensure_account(connection: Connection, name: str, provider: str, currency: str) -> None:
    upsert(
        connection,
        schema.accounts,
        [{"name": name, "provider": provider, "currency": currency, "first_seen_at": utcnow()}],
        keys=["name"],
        update=["provider", "currency"],
    )


def register_account(engine: Engine, name: str, provider: str, currency: str) -> None:
    with engine.begin() as connection:
        ensure_account(connection, name, provider, currency)


def store_facts(
    engine: Engine,
    *,
    account: str,
    source: str,
    window: Window | None,
    facts: Sequence[Fact],
    official: bool = True,
) -> StoredFacts:
    """Store one endpoint task's facts. With a window, cost and usage rows of (account, source) inside it are
    replaced; snapshots, invoices and names are upserted by their natural keys. Returns the rows written per table
    and the items not stored: the connector's ItemProblems and each fact outside the value ranges."""
    now = utcnow()
    problems: list[ItemProblem] = []
    good: list[Fact] = []
    for fact in facts:
        if isinstance(fact, EndpointUnavailable):
            continue  # nothing to store: the sync report says the endpoint is not available
        found = fact_problem(fact, source)
        if found is None:
            good.append(fact)
        else:
            problems.append(found)
    costs = [_cost_row(account, source, f, now) for f in good if isinstance(f, CostBucket)]
    for row in costs:
        row["official"] = official
    usage = [_usage_row(account, source, f, now) for f in good if isinstance(f, UsageBucket)]
    costs = _merge(costs, ("start_time", "dims_key", "currency"), ("amount",), limit=MAX_AMOUNT, endpoint=source,
                   problems=problems)
    usage = _merge(usage, ("kind", "start_time", "dims_key"), _USAGE_MEASURES, limit=MAX_COUNT, endpoint=source,
                   problems=problems)
    counts = {"costs": len(costs), "usage": len(usage), "balances": 0, "limits": 0, "invoices": 0, "names": 0}
    with engine.begin() as connection:
        if window is not None:
            for table in (schema.cost_buckets, schema.usage_buckets):
                connection.execute(
                    delete(table).where(
                        table.c.account == account,
                        table.c.source == source,
                        table.c.start_time >= window.start,
                        table.c.start_time < window.end,
                    )
                )
        if costs:
            upsert(connection, schema.cost_buckets, costs,
                   keys=["account", "source", "start_time", "dims_key", "currency"],
                   update=["amount", "end_time", "quantity", "quantity_unit", "extra", "fetched_at"])
        if usage:
            upsert(connection, schema.usage_buckets, usage,
                   keys=["account", "source", "kind", "start_time", "dims_key"],
                   update=[*_USAGE_MEASURES, "end_time", "extra", "fetched_at"])
        counts["balances"] = _store_balances(connection, account, source, good)
        counts["limits"] = _store_limits(connection, account, source, good)
        counts["invoices"] = _store_invoices(connection, account, source, good, now)
        counts["names"] = _store_names(connection, account, good, now)
    return StoredFacts(counts, problems)


def _store_balances(connection: Connection, account: str, source: str, facts: Sequence[Fact]) -> int:
    rows = [
        {"account": account, "source": source, "as_of": f.as_of, "amount": f.amount,
         "currency": f.currency.upper(), "official": f.official, "details": f.details or None}
        for f in facts if isinstance(f, BalanceSnapshot)
    ]
    upsert(connection, schema.balance_snapshots, rows, keys=["account", "source", "currency", "as_of"],
           update=["amount", "official", "details"])
    return len(rows)


def _store_limits(connection: Connection, account: str, source: str, facts: Sequence[Fact]) -> int:
    rows = [
        {"account": account, "source": source, "name": f.name, "as_of": f.as_of, "amount": f.amount,
         "currency": f.currency.upper(), "official": f.official, "details": f.details or None}
        for f in facts if isinstance(f, LimitSnapshot)
    ]
    upsert(connection, schema.limit_snapshots, rows, keys=["account", "source", "name", "as_of"],
           update=["amount", "currency", "official", "details"])
    return len(rows)


def _store_invoices(connection: Connection, account: str, source: str, facts: Sequence[Fact], now: datetime) -> int:
    rows = [
        {"account": account, "invoice_id": f.invoice_id, "source": source, "period_start": f.period_start,
         "amount": f.amount, "currency": f.currency.upper(), "status": f.status, "details": f.details or None,
         "fetched_at": now}
        for f in facts if isinstance(f, Invoice)
    ]
    upsert(connection, schema.invoices, rows, keys=["account", "invoice_id"],
           update=["period_start", "amount", "currency", "status", "details", "fetched_at"])
    return len(rows)


def _store_names(connection: Connection, account: str, facts: Sequence[Fact], now: datetime) -> int:
    rows = {
        (f.kind, f.entity_id): {"account": account, "kind": f.kind, "entity_id": f.entity_id, "name": f.name,
                                "updated_at": now, "details": f.details or None}
        for f in facts if isinstance(f, EntityName)
    }
    upsert(connection, schema.entity_names, list(rows.values()), keys=["account", "kind", "entity_id"],
           update=["name", "updated_at", "details"])
    return len(rows)


def entity_name_map(engine: Engine, kind: str) -> dict[tuple[str, str], str]:
    table = schema.entity_names
    with engine.connect() as connection:
        query = select(table.c.account, table.c.entity_id, table.c.name).where(table.c.kind == kind)
        result = connection.execute(query)
        return {(row.account, row.entity_id): row.name for row in result}


__all__ = ["DIMENSIONS", "StoredFacts", "dims_key", "ensure_account", "entity_name_map", "fact_problem", "problem",
           "register_account", "store_facts"]
