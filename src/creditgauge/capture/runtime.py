"""Assemble capture from the config (database, journal, writer, pricer) and run the proxy until SIGTERM/SIGINT,
then stop accepting, finish in-flight requests, drain the queue into the database and close the journal."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import platformdirs
from aiohttp import web
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from creditgauge.capture.collector import tune_garbage_collector
from creditgauge.capture.journal import Journal
from creditgauge.capture.once import store_once
from creditgauge.capture.otlp_aiohttp import aiohttp_handler
from creditgauge.capture.otlp_receiver import OtlpReceiver
from creditgauge.capture.proxy import RecordingProxy, routes_for
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.store_process import ProcessStore
from creditgauge.capture.writer import Backoff, EventWriter, StoreFunction
from creditgauge.config import Config
from creditgauge.domain import UsageEvent
from creditgauge.pricing import Pricer
from creditgauge.store.engine import make_engine, migrate
from creditgauge.store.events import StoreOutcome

log = logging.getLogger("creditgauge.capture")


def database_identity(url: str) -> str:
    """The database a URL names, as text that holds no secret: the password hidden, the driver reduced to the
    backend, a SQLite file as its absolute path (two working directories, two databases)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return hashlib.sha256(url.encode()).hexdigest()  # not a URL at all: make_engine reports it
    parsed = parsed.set(drivername=parsed.get_backend_name())
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).expanduser().resolve()))
    return parsed.render_as_string(hide_password=True)


def journal_root(config: Config) -> Path:
    """The journal directory of the configured database: one per database (named by a hash of its identity)
    under proxy.journal_dir, else under the user data directory, so two configurations on one machine never
    share a journal."""
    root = (Path(config.proxy.journal_dir).expanduser() if config.proxy.journal_dir
            else Path(platformdirs.user_data_dir("creditgauge")) / "journal")
    identity = database_identity(config.resolved_database_url())
    return root / ("db-" + hashlib.sha256(identity.encode()).hexdigest()[:16])


class MigratingStore:
    """Stores events, bringing the schema up to date first: the proxy starts (and journals) even while the
    database is unreachable, and migrates on its first successful connection."""

    def __init__(self, store: StoreFunction) -> None:
        self.ready = False
        self.store = store

    def __call__(self, engine: Engine, events: Sequence[UsageEvent]) -> StoreOutcome:
        if not self.ready:
            migrate(engine)
            self.ready = True
        return self.store(engine, events)


def build_recorder(config: Config, journal_dir: Path, *, writes_in_child: bool = False,
                   backoff: Backoff | None = None) -> Recorder:
    """The capture pipeline from the config. `writes_in_child` (the proxy) stores from a helper process (see
    store_process); the SDK hook stores from a thread, not to start processes inside the user's application."""
    url = config.resolved_database_url()
    store = ProcessStore(url) if writes_in_child else MigratingStore(store_once)
    journal = Journal(journal_dir, database=database_identity(url))
    writer = EventWriter(make_engine(url), journal, batch_size=config.proxy.batch_size,
                         queue_size=config.proxy.queue_size, backoff=backoff, store=store)
    return Recorder(Pricer.from_config(config), writer.start())


async def serve_proxy(config: Config, recorder: Recorder, host: str, port: int,
                      *, drain_seconds: float = 30.0, otlp: OtlpReceiver | None = None) -> None:
    settings = config.proxy
    proxy = RecordingProxy(routes_for(config.accounts), recorder,
                           connect_timeout=settings.connect_timeout_seconds,
                           read_timeout=settings.read_timeout_seconds,
                           max_request_bytes=settings.max_request_mb * 1024 * 1024,
                           idle_timeout=settings.idle_timeout_seconds, body_timeout=settings.body_timeout_seconds,
                           max_connections=settings.max_connections,
                           otlp=aiohttp_handler(otlp) if otlp is not None else None)
    runner = proxy.runner(shutdown_timeout=drain_seconds, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    accounts = ", ".join(sorted(config.accounts)) or "none configured"
    print(f"creditgauge proxy listening on http://{host}:{port} (accounts: {accounts})", file=sys.stderr,
          flush=True)
    await stop.wait()
    await runner.cleanup()  # stops listening, lets in-flight requests finish (up to drain_seconds)
    drained = await loop.run_in_executor(None, recorder.close, drain_seconds)
    if otlp is not None:
        drained = await loop.run_in_executor(None, otlp.close, drain_seconds) and drained
    if not drained:
        log.warning("database unreachable at shutdown: unwritten events stay in the journal for the next start")


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it exists (Linux, macOS): the proxy's loop runs every request twice over HTTP, and uvloop
    cuts the proxy's CPU per request by about 9% (benchmarks/RESULTS.md). Elsewhere, asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_proxy(config: Config, host: str, port: int) -> None:
    recorder = build_recorder(config, journal_root(config) / "proxy", writes_in_child=True)
    otlp = OtlpReceiver(config, make_engine(config.resolved_database_url()), migrate_first=True)
    tune_garbage_collector()
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(serve_proxy(config, recorder, host, port, otlp=otlp))
    finally:
        recorder.close(timeout=1.0)
        otlp.close(timeout=1.0)
