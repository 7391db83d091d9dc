"""Test helpers (imported as `factories`) that put facts in the store the way connectors and capture do,
so analysis reads real rows."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from creditgauge.config import Config, parse_config
from creditgauge.domain import BalanceSnapshot, CostBucket, LimitSnapshot, UsageEvent, day_start
from creditgauge.store.events import store_events
from creditgauge.store.facts import ensure_account, store_facts

_ids = itertools.count(1)


def at(day: str, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def make_config(accounts: dict[str, dict[str, Any]], **sections: Any) -> Config:
    return parse_config({"accounts": accounts, **sections}, None)


def reported(engine: Engine, account: str, day: str, amount: str, *, currency: str = "USD", provider: str = "openai",
             model: str | None = None, api_key: str | None = None, line_item: str | None = None,
             project: str | None = None) -> None:
    start = day_start(date.fromisoformat(day))
    with engine.begin() as connection:
        ensure_account(connection, account, provider, currency)
    store_facts(engine, account=account, source="costs", window=None, facts=[
        CostBucket(start, start + timedelta(days=1), Decimal(amount), currency, model=model, api_key=api_key,
                   line_item=line_item, project=project)
    ])


def tracked(engine: Engine, account: str, ts: datetime, cost: str | None, *, currency: str = "USD",
            provider: str = "openai", model: str | None = "gpt-4o", key: str | None = None,
            tags: dict[str, str] | None = None, requests: int = 1) -> None:
    store_events(engine, [UsageEvent(
        id=f"ev{next(_ids):08d}", account=account, provider=provider, ts=ts, model=model,
        endpoint="/v1/chat/completions", source="proxy", requests=requests, key_fingerprint=key, tags=tags or {},
        cost=None if cost is None else Decimal(cost), currency=currency,
    )])


def tracked_days(engine: Engine, account: str, first: str, last: str, cost: str, **kwargs: Any) -> None:
    """One tracked event of `cost` at noon of every day from first to last inclusive."""
    day = date.fromisoformat(first)
    while day <= date.fromisoformat(last):
        tracked(engine, account, at(day.isoformat(), 12), cost, **kwargs)
        day += timedelta(days=1)


def balance(engine: Engine, account: str, as_of: datetime, amount: str, *, currency: str = "USD",
            official: bool = True, source: str = "balance", details: dict[str, Any] | None = None) -> None:
    store_facts(engine, account=account, source=source, window=None,
                facts=[BalanceSnapshot(as_of, Decimal(amount), currency, official=official, details=details or {})])


def limit(engine: Engine, account: str, as_of: datetime, name: str, amount: str, currency: str = "USD") -> None:
    store_facts(engine, account=account, source="limits", window=None,
                facts=[LimitSnapshot(as_of, name, Decimal(amount), currency)])


NOW = at("2026-03-18", 12)  # a Wednesday
