"""Tracked spend by line item. An event's cost is its tokens' cost plus any per-call tool fees (web search, file
search, code interpreter containers, image generation, code execution); pricing.py keeps the split in the
event's `extra["line_items"]`. The daily rollup sums whole costs, so a report by line item takes the rollup's
figures as "tokens" and moves each fee out of them, reading only the events that carry fees."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Text, bindparam, select, type_coerce, update

from creditgauge.store import queries, schema

LINE_ITEM = "line_item"
TOKENS = "tokens"
_MARK = '%"line_items"%'  # how a stored extra with line items reads (JSONText writes compact JSON)


def tracked_spend(engine: Engine, *, since: datetime, until: datetime, by: Sequence[str],
                  accounts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """queries.spend's tracked rows with `line_item` among the dimensions: "tokens" and one row per fee."""
    others = [name for name in by if name != LINE_ITEM]
    base = queries.spend(engine, since=since, until=until, by=others, source="tracked", accounts=accounts)
    fees = _fees(engine, since=since, until=until, by=others, accounts=accounts)
    rows = []
    for row in base:
        key = (*(row[name] for name in others), row["currency"])
        lines = fees.pop(key, {})
        tokens = None if row["amount"] is None else row["amount"] - sum(lines.values(), Decimal(0))
        rows.append(_row(by, row, TOKENS, tokens, row.get("unpriced_requests", 0)))
        rows += [_row(by, row, name, amount, 0) for name, amount in sorted(lines.items())]
    return sorted(rows, key=lambda r: tuple((r[name] is not None, str(r[name])) for name in (*by, "currency")))


def _row(by: Sequence[str], base: Mapping[str, Any], line: str, amount: Decimal | None,
         unpriced: int) -> dict[str, Any]:
    row = {name: line if name == LINE_ITEM else base[name] for name in by}
    return {**row, "currency": base["currency"], "amount": amount, "unpriced_requests": unpriced}


def _fees(engine: Engine, *, since: datetime, until: datetime, by: Sequence[str],
          accounts: Sequence[str] | None) -> dict[tuple[Any, ...], dict[str, Decimal]]:
    """Fee amounts per (dimension values..., currency) and fee name, from the priced events that carry fees."""
    events = schema.usage_events
    dims, joins = queries._tracked_columns(engine, by)
    statement = (
        select(*dims, events.c.currency, events.c.extra)
        .select_from(queries._tracked_from(events, joins))
        .where(events.c.ts >= since, events.c.ts < until, events.c.cost.is_not(None),
               type_coerce(events.c.extra, Text).like(_MARK))
    )
    if accounts:
        statement = statement.where(events.c.account.in_(accounts))
    found: dict[tuple[Any, ...], dict[str, Decimal]] = {}
    with engine.connect() as connection:
        for row in connection.execute(statement):
            values = tuple(row)
            lines = found.setdefault(values[:-1], {})
            for name, amount in ((row.extra or {}).get("line_items") or {}).items():
                if name != TOKENS:
                    lines[name] = lines.get(name, Decimal(0)) + Decimal(str(amount))
    return found


def store_line_items(engine: Engine, changes: Mapping[str, dict[str, str] | None]) -> None:
    """Set (or clear, with None) the line items of these events, after `reprice` changed their prices."""
    events = schema.usage_events
    with engine.begin() as connection:
        ids = list(changes)
        for offset in range(0, len(ids), 900):
            chunk = ids[offset:offset + 900]
            rows = connection.execute(select(events.c.id, events.c.extra).where(events.c.id.in_(chunk)))
            updates = []
            for event_id, extra in rows:
                kept = {key: value for key, value in (extra or {}).items() if key != "line_items"}
                if changes[event_id]:
                    kept["line_items"] = changes[event_id]
                updates.append({"event_id": event_id, "new_extra": kept or None})
            if updates:
                statement = update(events).where(events.c.id == bindparam("event_id"))
                connection.execute(statement.values(extra=bindparam("new_extra")), updates)
