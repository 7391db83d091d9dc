"""The read queries analysis and presenters need. Sums happen in SQL on exact integer nano-units."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Engine, Select, and_, case, func, not_, or_, select, text
from sqlalchemy.sql.elements import Label

from creditgauge.domain import day_start
from creditgauge.errors import ConfigError
from creditgauge.store import rollup, schema
from creditgauge.store.types import money

Source = Literal["reported", "tracked"]

REPORTED_DIMENSIONS = ("day", "month", "account", "provider", "project", "model", "line_item", "api_key",
                       "workspace", "service_tier")
REPORTED_USAGE_DIMENSIONS = ("day", "month", "account", "provider", "project", "model", "api_key", "workspace",
                             "service_tier", "kind")
TRACKED_DIMENSIONS = ("day", "month", "account", "provider", "project", "model", "key", "endpoint", "source")
USAGE_MEASURES = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
                  "requests")
EXTRA_USAGE_MEASURES = ("images", "characters", "seconds")
# Usage kinds that repeat tokens another kind already counts (Anthropic's Claude Code report overlaps its messages
# report): left out of totals unless the report is grouped by kind, where each kind stands on its own row.
OVERLAPPING_KINDS = ("claude_code",)


def day_of(engine_or_dialect: Engine | str, column: ColumnElement[Any], length: int = 10) -> ColumnElement[str]:
    """YYYY-MM-DD (or YYYY-MM with length 7) of a UTC timestamp column, on either database."""
    dialect = engine_or_dialect if isinstance(engine_or_dialect, str) else engine_or_dialect.dialect.name
    if dialect == "postgresql":
        fmt = "YYYY-MM-DD" if length == 10 else "YYYY-MM"
        return func.to_char(func.timezone("UTC", column), fmt)
    return func.substr(column, 1, length)


def _check_dimensions(by: Sequence[str], allowed: Sequence[str], source: str) -> None:
    for name in by:
        if name in allowed or (source == "tracked" and name.startswith("tag:") and len(name) > 4):
            continue
        raise ConfigError(
            f"--by {name!r} is not a dimension of {source} data; use: {', '.join(allowed)}"
            + (", tag:<name>" if source == "tracked" else "")
        )


def _reported_columns(engine: Engine, table: Any, by: Sequence[str]) -> list[Label[Any]]:
    columns: list[Label[Any]] = []
    for name in by:
        if name == "day":
            columns.append(day_of(engine, table.c.start_time).label("day"))
        elif name == "month":
            columns.append(day_of(engine, table.c.start_time, 7).label("month"))
        elif name == "provider":
            columns.append(schema.accounts.c.provider.label("provider"))
        else:
            columns.append(table.c[name].label(name))
    return columns


def _tracked_columns(engine: Engine, by: Sequence[str]) -> tuple[list[Label[Any]], list[Any]]:
    events = schema.usage_events
    columns: list[Label[Any]] = []
    joins: list[Any] = []
    for name in by:
        if name == "day":
            columns.append(day_of(engine, events.c.ts).label("day"))
        elif name == "month":
            columns.append(day_of(engine, events.c.ts, 7).label("month"))
        elif name == "key":
            columns.append(events.c.key_fingerprint.label("key"))
        elif name.startswith("tag:"):
            alias = schema.event_tags.alias(f"tag_{len(joins)}")
            joins.append((alias, and_(alias.c.event_id == events.c.id, alias.c.key == name[4:])))
            columns.append(alias.c.value.label(name))
        else:
            columns.append(events.c[name].label(name))
    return columns, joins


def _window(column: Any, since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(column >= since, column < until)


def _run(engine: Engine, statement: Select[Any]) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        result = connection.execute(statement)
        keys = list(result.keys())  # once, not a mapping per row: reports read tens of thousands of rows
        return [dict(zip(keys, row, strict=True)) for row in result]


def _unpriced(events: Any) -> ColumnElement[int]:
    return case((events.c.cost.is_(None), events.c.requests), else_=0)


def outside_spans(account: Any, moment: Any, spans: Mapping[str, tuple[datetime, datetime]]) -> ColumnElement[bool]:
    """Rows of no account's span: per account, the times [start, end) left out."""
    return not_(or_(*(and_(account == name, _window(moment, start, end)) for name, (start, end) in spans.items())))


def _priced(events: Any) -> ColumnElement[int]:
    return case((events.c.cost.is_(None), 0), else_=events.c.requests)


def _tracked_from(events: Any, joins: list[Any]) -> Any:
    joined = events
    for alias, condition in joins:
        joined = joined.join(alias, condition, isouter=True)
    return joined


@dataclass(frozen=True, slots=True)
class _Tracked:
    table: Any
    dims: list[Label[Any]]
    source: Any  # the FROM clause
    cost: ColumnElement[Any]
    unpriced: ColumnElement[Any]
    priced: ColumnElement[Any]  # requests that have a price
    moment: Any  # the time column the window applies to


def _tracked_source(engine: Engine, by: Sequence[str], since: datetime, until: datetime) -> _Tracked:
    """Tracked data comes from the daily rollup whenever it can answer (whole UTC days, no tag dimension), else
    from the events themselves. Both give the same rows; the rollup reads thousands of rows instead of millions."""
    if day_start(since) == since and day_start(until) == until \
            and all(name in ("day", "month") or name in rollup.REPORT_COLUMNS for name in by):
        daily = schema.usage_daily
        dims = [day_of(engine, daily.c.day, 10 if name == "day" else 7).label(name) if name in ("day", "month")
                else daily.c[rollup.REPORT_COLUMNS[name]].label(name) for name in by]
        return _Tracked(daily, dims, daily, daily.c.cost, daily.c.unpriced_requests,
                        daily.c.requests - daily.c.unpriced_requests, daily.c.day)
    events = schema.usage_events
    dims, joins = _tracked_columns(engine, by)
    return _Tracked(events, dims, _tracked_from(events, joins), events.c.cost, _unpriced(events), _priced(events),
                    events.c.ts)


def _reported_select(table: Any, columns: Sequence[Any], since: datetime, until: datetime) -> Select[Any]:
    """SELECT columns over a reported table (joined to accounts for the provider) in [since, until)."""
    return (
        select(*columns)
        .select_from(table.join(schema.accounts, schema.accounts.c.name == table.c.account, isouter=True))
        .where(_window(table.c.start_time, since, until))
    )


def spend(
    engine: Engine,
    *,
    since: datetime,
    until: datetime,
    by: Sequence[str],
    source: Source = "reported",
    accounts: Sequence[str] | None = None,
    outside: Mapping[str, tuple[datetime, datetime]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of the `by` dimensions plus `amount` (Decimal) and `currency`; tracked rows add `unpriced_requests`,
    and their amount is None (unknown, never 0) when none of their requests has a price. `outside` leaves out,
    per account, the tracked data of the days [start, end) (the days its provider's report covers)."""
    if source == "tracked" and "line_item" in by:  # fees are split out of the events' costs there
        from creditgauge.store import line_items

        return line_items.tracked_spend(engine, since=since, until=until, by=by, accounts=accounts, outside=outside)
    if source == "reported":
        _check_dimensions(by, REPORTED_DIMENSIONS, source)
        table = schema.cost_buckets
        dims = _reported_columns(engine, table, by)
        currency = table.c.currency
        statement: Select[Any] = _reported_select(table, [*dims, currency, func.sum(table.c.amount).label("nanos")],
                                                  since, until)
        account_column = table.c.account
    else:
        _check_dimensions(by, TRACKED_DIMENSIONS, source)
        tracked = _tracked_source(engine, by, since, until)
        dims, currency = tracked.dims, tracked.table.c.currency
        columns: list[Any] = [*dims, currency, func.sum(tracked.cost).label("nanos"),
                              func.sum(tracked.unpriced).label("unpriced_requests"),
                              func.sum(tracked.priced).label("priced_requests")]
        statement = (
            select(*columns)
            .select_from(tracked.source)
            .where(_window(tracked.moment, since, until))
        )
        account_column = tracked.table.c.account
        if outside:
            statement = statement.where(outside_spans(account_column, tracked.moment, outside))
    if accounts:
        statement = statement.where(account_column.in_(accounts))
    statement = statement.group_by(*dims, currency).order_by(*dims, currency)
    rows = _run(engine, statement)
    for row in rows:
        # SUM keeps the Nanos type, so it arrives as an exact Decimal (NULL when every event was unpriced).
        row["amount"] = money(row.pop("nanos"))
        if "unpriced_requests" in row:
            row["unpriced_requests"] = int(row["unpriced_requests"] or 0)
            if int(row.pop("priced_requests") or 0) == 0 and row["unpriced_requests"]:
                row["amount"] = None
    return rows


def spend_by_day(engine: Engine, *, since: datetime, until: datetime, source: Source,
                 accounts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows of `account`, `day` (a date), `currency`, `amount` and (tracked) `unpriced_requests` and
    `priced_requests`, over whole UTC days. Grouped by the stored start time, in the order of the (account, time)
    index, which spares the database a sort by a computed day; hourly buckets give several rows for one day."""
    if source == "reported":
        table = schema.cost_buckets
        moment, sums = table.c.start_time, [func.sum(table.c.amount).label("nanos")]
    else:
        table = schema.usage_daily
        moment, sums = table.c.day, [func.sum(table.c.cost).label("nanos"),
                                     func.sum(table.c.unpriced_requests).label("unpriced_requests"),
                                     func.sum(table.c.requests - table.c.unpriced_requests).label("priced_requests")]
    statement = (select(table.c.account, moment.label("start"), table.c.currency, *sums)
                 .where(_window(moment, since, until))
                 .group_by(table.c.account, moment, table.c.currency))
    if accounts:
        statement = statement.where(table.c.account.in_(accounts))
    rows = _run(engine, statement)
    for row in rows:
        row["day"] = day_start(row.pop("start")).date()
        row["amount"] = money(row.pop("nanos"))
        if source == "tracked":
            row["unpriced_requests"] = int(row["unpriced_requests"] or 0)
            if int(row.pop("priced_requests") or 0) == 0 and row["unpriced_requests"]:
                row["amount"] = None
    return rows


def usage(
    engine: Engine,
    *,
    since: datetime,
    until: datetime,
    by: Sequence[str],
    source: Source = "reported",
    accounts: Sequence[str] | None = None,
    not_reported: Mapping[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of the `by` dimensions plus the token sums and requests (reported rows add images/characters/seconds).
    `not_reported` names, per measure, the providers whose reports do not carry it: a reported row that includes
    one of them has that measure None (unknown), never a sum that passes the gap off as 0."""
    if source == "reported":
        _check_dimensions(by, REPORTED_USAGE_DIMENSIONS, source)
        table = schema.usage_buckets
        dims = _reported_columns(engine, table, by)
        measures: tuple[str, ...] = (*USAGE_MEASURES, *EXTRA_USAGE_MEASURES)
        gaps = not_reported or {}
        sums = [_sum_unless(table.c[m], gaps.get(m)).label(m) for m in measures]
        statement = _reported_select(table, [*dims, *sums], since, until)
        if "kind" not in by:
            statement = statement.where(table.c.kind.not_in(OVERLAPPING_KINDS))
        if accounts:
            statement = statement.where(table.c.account.in_(accounts))
    else:
        _check_dimensions(by, TRACKED_DIMENSIONS, source)
        tracked = _tracked_source(engine, by, since, until)
        dims, measures = tracked.dims, USAGE_MEASURES
        statement = (
            select(*dims, *(func.sum(tracked.table.c[m]).label(m) for m in measures))
            .select_from(tracked.source)
            .where(_window(tracked.moment, since, until))
        )
        if accounts:
            statement = statement.where(tracked.table.c.account.in_(accounts))
    statement = statement.group_by(*dims).order_by(*dims)
    rows = _run(engine, statement)
    for row in rows:
        for measure in measures:
            if row[measure] is not None or measure not in (not_reported or {}):
                row[measure] = int(row[measure] or 0)
    return rows


def _sum_unless(column: Any, providers: Sequence[str] | None) -> ColumnElement[Any]:
    """SUM(column), or NULL for a group holding a bucket of one of `providers` (they do not report it)."""
    if not providers:
        return func.sum(column)
    gaps = func.sum(case((schema.accounts.c.provider.in_(providers), 1), else_=0))
    return case((gaps > 0, None), else_=func.sum(column))


def last_reported_days(engine: Engine, *, before: datetime, accounts: Sequence[str]) -> dict[tuple[str, str], date]:
    """Per (account, currency), the last UTC day with reported spend before `before`: how far a provider had
    posted when nothing of a window is posted. One index probe per account (ix_cost_buckets_account_start)."""
    costs = schema.cost_buckets
    found: dict[tuple[str, str], date] = {}
    with engine.connect() as connection:
        for account in accounts:
            last = connection.execute(select(func.max(costs.c.start_time)).where(
                costs.c.account == account, costs.c.start_time < before)).scalar()
            if last is None:
                continue
            currencies = connection.execute(select(costs.c.currency).distinct().where(
                costs.c.account == account, costs.c.start_time == last)).scalars()
            found.update({(account, currency): day_start(last).date() for currency in currencies})
    return found


def accounts_seen(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as connection:
        return {row.name: dict(row._mapping) for row in connection.execute(select(schema.accounts))}


def tag_keys(engine: Engine) -> list[str]:
    """Every tag name seen on tracked events, for the dashboard's grouping choices. A loose index scan (one index
    probe per distinct name) so it stays instant with millions of tagged events, on both databases."""
    loose_scan = text(
        "WITH RECURSIVE names(key) AS (SELECT MIN(key) FROM event_tags UNION ALL "
        "SELECT (SELECT MIN(key) FROM event_tags WHERE key > names.key) FROM names WHERE names.key IS NOT NULL) "
        "SELECT key FROM names WHERE key IS NOT NULL"
    )
    with engine.connect() as connection:
        return list(connection.execute(loose_scan).scalars())


def count_export_rows(engine: Engine, *, since: datetime, until: datetime, source: Source) -> int:
    """How many rows `export_rows` will yield (for a progress bar)."""
    inner = _export_statement(engine, since, until, source).subquery()
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(inner)).scalar_one())


def export_rows(engine: Engine, *, since: datetime, until: datetime, source: Source,
                chunk: int = 5000) -> Iterator[dict[str, Any]]:
    """Spend at its finest stored grain, streamed: reported cost buckets as they are; tracked events summed per
    UTC day, account, model, project, key, endpoint and tag set (unpriced requests counted, never as 0)."""
    statement = _export_statement(engine, since, until, source)
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=chunk).execute(statement)
        for row in result.mappings():
            item = dict(row)
            if source == "tracked":
                item["amount"] = None if item["priced_requests"] == 0 else money(item["amount"])
                for name in (*USAGE_MEASURES, "unpriced_requests", "priced_requests"):
                    item[name] = int(item[name] or 0)
                day = datetime.fromisoformat(item.pop("day")).replace(tzinfo=UTC)
                item["start_time"], item["end_time"] = day, day + timedelta(days=1)
            yield item


def _export_statement(engine: Engine, since: datetime, until: datetime, source: Source) -> Select[Any]:
    accounts = schema.accounts
    if source == "reported":
        costs = schema.cost_buckets
        return (
            select(costs.c.start_time, costs.c.end_time, costs.c.account, accounts.c.provider, costs.c.project,
                   costs.c.model, costs.c.line_item, costs.c.api_key, costs.c.workspace, costs.c.service_tier,
                   costs.c.amount, costs.c.currency, costs.c.quantity, costs.c.quantity_unit)
            .select_from(costs.join(accounts, accounts.c.name == costs.c.account, isouter=True))
            .where(_window(costs.c.start_time, since, until))
            .order_by(costs.c.start_time, costs.c.account, costs.c.id)
        )
    events = schema.usage_events
    day = day_of(engine, events.c.ts)
    keys = (events.c.account, events.c.provider, events.c.model, events.c.project, events.c.key_fingerprint,
            events.c.endpoint, events.c.tags, events.c.currency)
    return (
        select(day.label("day"), *keys, func.sum(events.c.cost).label("amount"),
               func.sum(_unpriced(events)).label("unpriced_requests"),
               func.sum(_priced(events)).label("priced_requests"),
               *(func.sum(events.c[m]).label(m) for m in USAGE_MEASURES))
        .where(_window(events.c.ts, since, until))
        .group_by(day, *keys)
        .order_by(day, *keys)
    )
