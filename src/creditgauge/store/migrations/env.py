"""Alembic environment: runs on the connection creditgauge hands it (see store/engine.py)."""

from __future__ import annotations

from alembic import context

from creditgauge.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: take the URL from alembic's own config
    from sqlalchemy import create_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("alembic.ini has no sqlalchemy.url: set it to the database to migrate")
    connection = create_engine(url).connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
