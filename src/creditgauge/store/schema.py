"""Every table, in SQLAlchemy Core. Alembic migrations create exactly this; a test checks they agree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from creditgauge.store.types import JSONText, Nanos, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("provider", String(40), nullable=False),
    Column("currency", String(8), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
)


def _dimensions() -> list[Column[Any]]:
    return [
        Column("project", String(200)),
        Column("model", String(200)),
        Column("line_item", String(300)),
        Column("api_key", String(200)),
        Column("workspace", String(200)),
        Column("service_tier", String(60)),
    ]


# Money a provider reports. `source` names the endpoint task; `dims_key` folds every dimension into one
# non-null string so the natural key works on both databases (NULLs never collide in a unique constraint).
cost_buckets = Table(
    "cost_buckets",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account", String(100), nullable=False),
    Column("source", String(100), nullable=False),
    Column("start_time", UTCDateTime, nullable=False),
    Column("end_time", UTCDateTime, nullable=False),
    Column("dims_key", Text, nullable=False),
    *_dimensions(),
    Column("amount", Nanos, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("quantity", Text),
    Column("quantity_unit", String(60)),
    Column("official", Boolean, nullable=False, default=True),
    Column("extra", JSONText),
    Column("fetched_at", UTCDateTime, nullable=False),
    UniqueConstraint("account", "source", "start_time", "dims_key", "currency"),
    Index("ix_cost_buckets_account_start", "account", "start_time"),
)

usage_buckets = Table(
    "usage_buckets",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account", String(100), nullable=False),
    Column("source", String(100), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("start_time", UTCDateTime, nullable=False),
    Column("end_time", UTCDateTime, nullable=False),
    Column("dims_key", Text, nullable=False),
    *_dimensions(),
    Column("input_tokens", BigInteger, nullable=False, default=0),
    Column("cached_input_tokens", BigInteger, nullable=False, default=0),
    Column("cache_write_tokens", BigInteger, nullable=False, default=0),
    Column("output_tokens", BigInteger, nullable=False, default=0),
    Column("reasoning_tokens", BigInteger, nullable=False, default=0),
    Column("requests", BigInteger, nullable=False, default=0),
    Column("images", BigInteger, nullable=False, default=0),
    Column("characters", BigInteger, nullable=False, default=0),
    Column("seconds", BigInteger, nullable=False, default=0),
    Column("extra", JSONText),
    Column("fetched_at", UTCDateTime, nullable=False),
    UniqueConstraint("account", "source", "kind", "start_time", "dims_key"),
    Index("ix_usage_buckets_account_start", "account", "start_time"),
)

balance_snapshots = Table(
    "balance_snapshots",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account", String(100), nullable=False),
    Column("source", String(100), nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Column("amount", Nanos, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("official", Boolean, nullable=False),
    Column("details", JSONText),
    UniqueConstraint("account", "source", "currency", "as_of"),
    Index("ix_balance_snapshots_account_as_of", "account", "as_of"),
)

limit_snapshots = Table(
    "limit_snapshots",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account", String(100), nullable=False),
    Column("source", String(100), nullable=False),
    Column("name", String(60), nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Column("amount", Nanos, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("official", Boolean, nullable=False),
    Column("details", JSONText),
    UniqueConstraint("account", "source", "name", "as_of"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("account", String(100), primary_key=True),
    Column("invoice_id", String(200), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("amount", Nanos, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("status", String(60), nullable=False),
    Column("details", JSONText),
    Column("fetched_at", UTCDateTime, nullable=False),
)

entity_names = Table(
    "entity_names",
    metadata,
    Column("account", String(100), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("entity_id", String(200), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("details", JSONText),  # an API key's redacted value, owner, project, created, last used, status
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", String(26), primary_key=True),  # ULID
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(20), nullable=False),  # running | ok | partial | failed
    Column("trigger", String(20), nullable=False, default="cli"),
    Column("requests", Integer, nullable=False, default=0),
    Column("detail", JSONText),
    Index("ix_sync_runs_started_at", "started_at"),
)

# One row per account and endpoint task: where the next incremental sync starts and how the last one went.
sync_state = Table(
    "sync_state",
    metadata,
    Column("account", String(100), primary_key=True),
    Column("source", String(100), primary_key=True),
    Column("high_water", UTCDateTime),
    Column("last_attempt_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("failing_since", UTCDateTime),
    Column("item_problems", Integer),  # items the last successful sync could not store (None: not counted yet)
    Column("note", Text),  # e.g. an optional endpoint this account's server does not offer
)

# Items of a provider's answer that a sync could not store as they came (unreadable, or outside the value ranges):
# the current problems of each source, replaced by that source's next successful sync. Each run keeps its own list
# in sync_runs.detail.
sync_problems = Table(
    "sync_problems",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(26), nullable=False),
    Column("account", String(100), nullable=False),
    Column("source", String(100), nullable=False),
    Column("endpoint", String(200), nullable=False),
    Column("field", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Index("ix_sync_problems_account_source", "account", "source"),
)

# ---- tracked data (proxy, SDK hook, ingest) ------------------------------------------------------------------

usage_events = Table(
    "usage_events",
    metadata,
    Column("id", String(64), primary_key=True),  # our ULID, or the client's event id for ingest
    Column("account", String(100), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("endpoint", String(120), nullable=False),
    Column("model", String(200)),
    Column("source", String(20), nullable=False),
    Column("key_fingerprint", String(40)),
    Column("project", String(200)),
    Column("input_tokens", BigInteger, nullable=False, default=0),
    Column("cached_input_tokens", BigInteger, nullable=False, default=0),
    Column("cache_write_tokens", BigInteger, nullable=False, default=0),
    Column("output_tokens", BigInteger, nullable=False, default=0),
    Column("reasoning_tokens", BigInteger, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=1),
    Column("status_code", Integer),
    Column("incomplete", Boolean, nullable=False, default=False),
    Column("cost", Nanos),  # NULL = unpriced
    Column("currency", String(8), nullable=False),
    Column("price_source", String(40)),
    Column("prices_version", String(40)),
    Column("latency_ms", Integer),
    Column("request_id", String(200)),
    Column("tags", JSONText),
    Column("extra", JSONText),
    Column("stored_at", UTCDateTime, nullable=False),
    Index("ix_usage_events_account_ts", "account", "ts"),
    Index("ix_usage_events_ts", "ts"),
)

# Tracked events summed per UTC day and dimension combination, kept in step with usage_events by
# store.rollup (insert_events adds what it inserted; update_prices rebuilds the days it touched), so reports over
# months of millions of events read thousands of rows. `dims_key` folds the nullable dimensions into one key.
usage_daily = Table(
    "usage_daily",
    metadata,
    Column("day", UTCDateTime, nullable=False),
    Column("dims_key", Text, nullable=False),
    Column("account", String(100), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("model", String(200)),
    Column("project", String(200)),
    Column("key_fingerprint", String(40)),
    Column("endpoint", String(120), nullable=False),
    Column("source", String(20), nullable=False),
    Column("currency", String(8), nullable=False),
    Column("cost", Nanos, nullable=False),  # priced events only; unpriced ones are counted apart
    Column("unpriced_requests", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("cached_input_tokens", BigInteger, nullable=False),
    Column("cache_write_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("reasoning_tokens", BigInteger, nullable=False),
    Column("requests", BigInteger, nullable=False),
    UniqueConstraint("day", "dims_key"),
    Index("ix_usage_daily_account_day", "account", "day"),
)

# Tags again, one row each, so spend can be grouped by a tag with plain SQL on both databases.
event_tags = Table(
    "event_tags",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("value", String(300), nullable=False),
    Index("ix_event_tags_key_value", "key", "value"),
)

# Items that could not be stored as they are (a value outside the limits, usage that could not be read, a row the
# database refused): kept here with the reason instead of blocking everything after them. `item_key` (a hash of
# the item) makes quarantining idempotent, so a journal replayed after a restart quarantines the same item once.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("item_key", String(64), nullable=False),
    Column("kind", String(20), nullable=False),  # event | fact
    Column("origin", String(40), nullable=False),  # proxy | sdk | ingest | otlp | a connector's endpoint
    Column("account", String(100)),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),  # the item as JSON (ASCII), cut to quarantine.MAX_PAYLOAD
    Column("quarantined_at", UTCDateTime, nullable=False),
    UniqueConstraint("item_key"),
    Index("ix_quarantine_quarantined_at", "quarantined_at"),
)

# ---- the user's own records ------------------------------------------------------------------------------------

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # deposit | grant | adjust
    Column("amount", Nanos, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("note", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_ledger_entries_account_at", "account", "at"),
)

alert_state = Table(
    "alert_state",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("state", String(20), nullable=False),  # ok | firing
    Column("since", UTCDateTime, nullable=False),
    Column("last_notified_at", UTCDateTime),
    Column("message", Text),
    Column("value", Text),
)

alert_history = Table(
    "alert_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("event", String(20), nullable=False),  # fired | reminded | resolved | channel_failed
    Column("at", UTCDateTime, nullable=False),
    Column("message", Text, nullable=False),
    Column("channels", JSONText),
    Index("ix_alert_history_at", "at"),
)
