"""quarantine: items that could not be stored as they are, with the reason

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("item_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("item_key", name=op.f("uq_quarantine_item_key")),
    )
    op.create_index("ix_quarantine_quarantined_at", "quarantine", ["quarantined_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_quarantine_quarantined_at", table_name="quarantine")
    op.drop_table("quarantine")
