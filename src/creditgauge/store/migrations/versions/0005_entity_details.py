"""entity_names.details: what a provider says of a named entity besides its name (an API key's redacted value,
owner, project or workspace, created, last used, status)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entity_names", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entity_names", schema=None) as batch_op:
        batch_op.drop_column("details")
