"""What a use case works on: the config, the store's engine and the clock; and how a face opens the store and turns
a database failure into one line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from creditgauge import clock
from creditgauge.config import Config
from creditgauge.errors import StoreError
from creditgauge.store import engine as store_engine


@dataclass
class Session:
    config: Config
    engine: Engine

    def now(self) -> datetime:
        return clock.now()

    def today(self) -> date:
        return self.now().date()


def open_engine(url: str) -> Engine:
    """The store at `url`, migrated to the current schema."""
    return store_engine.open_engine(url)


def database_error(exc: SQLAlchemyError, url: URL) -> StoreError:
    """What the database refused, as one line naming the database (never its password)."""
    return store_engine.database_error(exc, url)
