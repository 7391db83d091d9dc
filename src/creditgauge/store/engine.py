"""Engine setup (SQLite WAL by default, PostgreSQL by URL), migrations to the newest schema (safe when several
processes start on an empty database at once), and one readable line for what the database refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from creditgauge.errors import ConfigError, StoreError
from creditgauge.filesystem import file_error
from creditgauge.redact import redact

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x63726564  # PostgreSQL advisory lock key held while migrating ("cred")
CHOOSE_DATABASE = "or set database_url in the config (or $CREDITGAUGE_DATABASE_URL) to a writable place"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # 64 MiB of page cache, taken only as pages are read, instead of SQLite's 2 MiB: event ids are hashes, so every
    # insert lands on a random page of the id and tag indexes, which outgrow 2 MiB at about 50,000 events (measured:
    # 10% less CPU storing 100,000 spans)
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"database_url {redact(url)!r} is not a database URL (use sqlite:///path or postgresql://...)"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            directory = Path(parsed.database).expanduser().parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise file_error(exc, "create the database directory", directory, hint=CHOOSE_DATABASE) from None
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"database backend {parsed.get_backend_name()!r} is not supported; use sqlite or postgresql")
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision(connection)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database's migration lock: the first process migrates, the others wait, then
    find the schema current. PostgreSQL: an advisory lock (its DDL is transactional). SQLite: BEGIN IMMEDIATE on a
    connection of its own, so the CREATE statements run inside that write transaction instead of autocommitting."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            yield connection
        return
    locking = make_engine(engine.url.render_as_string(hide_password=False))

    @event.listens_for(locking, "connect")
    def _manual_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite leaves BEGIN to us (SQLAlchemy's documented recipe)

    @event.listens_for(locking, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locking.begin() as connection:
            yield connection
    finally:
        locking.dispose()


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op (no write, so a read-only database works) when it is there."""
    try:
        head = head_revision()
        if current_revision(engine) == head:
            return
        with _migration_lock(engine) as connection:
            if _revision(connection) == head:  # another process migrated while this one waited
                return
            cfg = _alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise database_error(exc, engine.url, doing="prepare") from None


def _short(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)  # the driver's own error, on the DBAPI errors that wrap one
    return redact(str(orig if orig else exc).splitlines()[0])


def database_error(exc: SQLAlchemyError, url: URL, *, doing: str = "use") -> StoreError:
    """One line for what the database refused: where, why, and the fix."""
    reason = _short(exc)
    where = (Path(url.database).expanduser() if url.get_backend_name() == "sqlite" and url.database
             else redact(url.render_as_string(hide_password=True)))
    lowered = reason.lower()
    if "readonly database" in lowered:
        return StoreError(f"cannot write the database {where}: it is read-only for this user (SQLite also needs to "
                          f"write in its directory); make both writable by you (chmod/chown), {CHOOSE_DATABASE}")
    if "unable to open database file" in lowered:
        return StoreError(f"cannot open the database {where}: check that it and its directory exist and are "
                          f"readable and writable by you, {CHOOSE_DATABASE}")
    if "disk is full" in lowered or "no space left" in lowered:
        return StoreError(f"cannot write the database {where}: the disk is full; free some space, "
                          f"{CHOOSE_DATABASE}")
    if "database is locked" in lowered:
        return StoreError(f"the database {where} stayed locked by another process for 30 s; try again")
    return StoreError(f"cannot {doing} the database {where}: {reason}")


def open_engine(url: str) -> Engine:
    """An engine on a database at the newest schema."""
    engine = make_engine(url)
    migrate(engine)
    return engine
