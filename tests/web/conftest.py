"""Fixtures of the web tests: the exact dataset on SQLite and PostgreSQL, a frozen clock, and clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from creditgauge.clock import FrozenClock, use_clock
from creditgauge.web import create_app

from . import dataset

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[FrozenClock]:
    with use_clock(FrozenClock(dataset.NOW)) as clock:
        yield clock  # type: ignore[misc]


@pytest.fixture
def store(engine: Engine) -> Engine:
    dataset.populate(engine)
    return engine


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    app = create_app(dataset.config(), store, scheduler=False)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def token_client(store: Engine) -> Iterator[TestClient]:
    """A server with a token, reached by a name that is not loopback (as when bound to 0.0.0.0)."""
    app = create_app(dataset.config(), store, token=TOKEN, scheduler=False)
    with TestClient(app, base_url="http://dashboard.example:8484") as test_client:
        yield test_client
