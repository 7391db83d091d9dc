"""usage_daily: tracked events summed per UTC day, filled from the events already stored

Revision ID: 0002
Revises: 0001

Frozen: the types are the DDL of store.types as it was (see 0001), and the fill is this migration's own SQL, the
one store.rollup.rebuild ran then: a day is the event's UTC midnight as each database stores it, dims_key the
dimensions joined by U+001F (NULL as empty), cost summed in nano-units over priced events only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
_DIMENSIONS = ("account", "provider", "model", "project", "key_fingerprint", "endpoint", "source", "currency")
_MEASURES = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
             "requests")


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dims_key", sa.Text(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("project", sa.String(length=200), nullable=True),
        sa.Column("key_fingerprint", sa.String(length=40), nullable=True),
        sa.Column("endpoint", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("unpriced_requests", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cached_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("day", "dims_key", name=op.f("uq_usage_daily_day_dims_key")),
    )
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.create_index("ix_usage_daily_account_day", ["account", "day"], unique=False)
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    day = ("timezone('UTC', date_trunc('day', timezone('UTC', ts)))" if postgres
           else "substr(ts, 1, 10) || ' 00:00:00.000000'")
    separator = " || chr(31) || " if postgres else " || char(31) || "
    dims_key = separator.join(f"coalesce({name}, '')" for name in _DIMENSIONS)
    dimensions = ", ".join(_DIMENSIONS)
    measures = ", ".join(_MEASURES)
    sums = ", ".join(f"sum({name})" for name in _MEASURES)
    connection.execute(sa.text(  # the events stored before this migration
        f"INSERT INTO usage_daily (day, dims_key, {dimensions}, cost, unpriced_requests, events, {measures}) "
        f"SELECT {day}, {dims_key}, {dimensions}, sum(CASE WHEN cost IS NULL THEN 0 ELSE cost END), "
        f"sum(CASE WHEN cost IS NULL THEN requests ELSE 0 END), count(*), {sums} "
        f"FROM usage_events GROUP BY {day}, {dimensions}"))


def downgrade() -> None:
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_daily_account_day")
    op.drop_table("usage_daily")
