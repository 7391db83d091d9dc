"""Writes of reported facts. A windowed source replaces its window whole, in one transaction: idempotent,
revisions replace, and a failure stores nothing and leaves what was there intact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from creditgauge.domain import (
    BalanceSnapshot,
    CostBucket,
    EntityName,
    Fact,
    Invoice,
    LimitSnapshot,
    UsageBucket,
    Window,
    utcnow,
)
from creditgauge.store import schema
from creditgauge.store.upsert import upsert

DIMENSIONS = ("project", "model", "line_item", "api_key", "workspace", "service_tier")


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
    rows: list[dict[str, Any]], key_fields: tuple[str, ...], sum_fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Providers may split one natural key over several result rows; store them as one row, summed."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in key_fields)
        if key in merged:
            for field in sum_fields:
                merged[key][field] += row[field]
        else:
            merged[key] = dict(row)
    return list(merged.values())


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
) -> dict[str, int]:
    """Store one endpoint task's facts. With a window, cost and usage rows of (account, source) inside it are
    replaced; snapshots, invoices and names are upserted by their natural keys. Returns counts per table."""
    now = utcnow()
    costs = [_cost_row(account, source, f, now) for f in facts if isinstance(f, CostBucket)]
    for row in costs:
        row["official"] = official
    usage = [_usage_row(account, source, f, now) for f in facts if isinstance(f, UsageBucket)]
    costs = _merge(costs, ("start_time", "dims_key", "currency"), ("amount",))
    usage = _merge(usage, ("kind", "start_time", "dims_key"), _USAGE_MEASURES)
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
        counts["balances"] = _store_balances(connection, account, source, facts)
        counts["limits"] = _store_limits(connection, account, source, facts)
        counts["invoices"] = _store_invoices(connection, account, source, facts, now)
        counts["names"] = _store_names(connection, account, facts, now)
    return counts


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
                                "updated_at": now}
        for f in facts if isinstance(f, EntityName)
    }
    upsert(connection, schema.entity_names, list(rows.values()), keys=["account", "kind", "entity_id"],
           update=["name", "updated_at"])
    return len(rows)


def entity_name_map(engine: Engine, kind: str) -> dict[tuple[str, str], str]:
    table = schema.entity_names
    with engine.connect() as connection:
        query = select(table.c.account, table.c.entity_id, table.c.name).where(table.c.kind == kind)
        result = connection.execute(query)
        return {(row.account, row.entity_id): row.name for row in result}


__all__ = ["DIMENSIONS", "dims_key", "ensure_account", "entity_name_map", "register_account", "store_facts"]
