"""Small helpers several test modules share (tests/ is on the path: `from support import ...`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from sqlalchemy import Engine, Table, select

from creditgauge.capture.journal import Journal
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.writer import Backoff, EventWriter
from creditgauge.connectors.base import Connector
from creditgauge.domain import Fact, Window
from creditgauge.errors import AuthError
from creditgauge.fakes.server import FakeServer
from creditgauge.pricing import Pricer
from creditgauge.store import schema
from shared_paths import PROVIDER_APIS


def database_dump(engine: Engine) -> str:
    """Every row of every table as text: what a planted-secret test searches."""
    with engine.connect() as connection:
        return "\n".join(str(tuple(row)) for table in schema.metadata.sorted_tables
                         for row in connection.execute(table.select()))


def assert_found_nowhere(secret: str, engine: Engine, *texts: str) -> str:
    """The planted secret is in none of the texts (errors, reports, captured logs) nor in any stored row.
    Returns the database dump, so the caller can check the sync did store something."""
    for text in texts:
        assert secret not in text
    dump = database_dump(engine)
    assert secret not in dump
    return dump


def run_task(connector: Connector, source: str, window: Window) -> list[Fact]:
    """One endpoint task of a connector, called directly (to see the exception it raises), then closed."""

    async def run() -> list[Fact]:
        try:
            task = next(t for t in connector.tasks() if t.source == source)
            return list(await task.fetch(window))
        finally:
            await connector.aclose()

    return asyncio.run(run())


def rows(engine: Engine, table: Table, source: str | None = None) -> list[Any]:
    """The rows of a table (of one source), as mappings."""
    query = select(table).where(table.c.source == source) if source else select(table)
    with engine.connect() as connection:
        return [row._mapping for row in connection.execute(query)]


def closed_schema(node: Any, also: dict[str, Any] | None = None) -> Any:
    """The schema with no room for undocumented fields (fakes emit exactly the documented ones); `also` adds
    properties documented elsewhere than the schema file."""
    if isinstance(node, list):
        return [closed_schema(item, also) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: closed_schema(value, also) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        node["properties"] = {**(also or {}), **node["properties"]}
        node["additionalProperties"] = False
    return node


def check_contract(body: Any, name: str, contracts: Path, also: dict[str, Any] | None = None) -> None:
    """Validate a fake's response against the project's copy of its JSON Schema, the same schema closed to extra
    fields, and the original in ../shared/provider-apis when that folder is present."""
    schema = json.loads((contracts / f"{name}.schema.json").read_text())
    schemas = [schema, closed_schema(schema, also)]
    if PROVIDER_APIS.exists():
        schemas.append(json.loads((PROVIDER_APIS / "schemas" / f"{name}.schema.json").read_text()))
    for candidate in schemas:
        Draft202012Validator(candidate, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)


def use_then_revoke(fake: Any, planted: str, valid: str, sync: Callable[..., Any],
                    fetch: Callable[..., Any]) -> tuple[Any, BaseException]:
    """A planted key that works for one sync, is then revoked: returns the failed sync report and the error the
    connector raised, for a planted-key test to search (the first sync stored data the key was used for)."""
    fake.keys = {planted}
    assert sync(fake, key=planted).status == "ok"
    fake.keys = {valid}
    failed = sync(fake, key=planted)
    assert failed.status == "failed"
    try:
        fetch(fake, key=planted)
    except AuthError as error:
        return failed, error
    raise AssertionError("a revoked key was accepted")


def quick_recorder(engine: Engine, journal_dir: Path) -> Recorder:
    """A started recorder that flushes and retries within milliseconds, for tests of what `track()` records."""
    writer = EventWriter(engine, Journal(journal_dir), flush_interval=0.01,
                         backoff=Backoff(base=0.01, maximum=0.05)).start()
    return Recorder(Pricer(), writer)


@contextmanager
def webhook_receiver(token: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """A webhook receiver on 127.0.0.1 that records what is POSTed to /hook/<token> and answers 404 elsewhere:
    (what it received, its base URL)."""
    received: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        if request.match_info["token"] != token:
            return web.Response(status=404)
        received.append(await request.json())
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook/{token}", handle)
    server = FakeServer(receiver)
    url = server.start()
    try:
        yield received, url
    finally:
        server.stop()
