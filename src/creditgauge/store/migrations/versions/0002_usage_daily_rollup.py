"""usage_daily: tracked events summed per UTC day, filled from the events already stored

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import creditgauge.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", creditgauge.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dims_key", sa.Text(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("project", sa.String(length=200), nullable=True),
        sa.Column("key_fingerprint", sa.String(length=40), nullable=True),
        sa.Column("endpoint", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("cost", creditgauge.store.types.Nanos(), nullable=False),
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
    from creditgauge.store.rollup import rebuild

    rebuild(op.get_bind())  # events stored before this migration


def downgrade() -> None:
    with op.batch_alter_table("usage_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_daily_account_day")
    op.drop_table("usage_daily")
