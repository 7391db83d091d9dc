"""sync_problems: items a sync could not store as they came; sync_state.item_problems and sync_state.note

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_problems",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=26), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),  # the DDL of store.types.UTCDateTime
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_problems")),
    )
    with op.batch_alter_table("sync_problems", schema=None) as batch_op:
        batch_op.create_index("ix_sync_problems_account_source", ["account", "source"], unique=False)
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_problems", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("item_problems")
    with op.batch_alter_table("sync_problems", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_problems_account_source")
    op.drop_table("sync_problems")
