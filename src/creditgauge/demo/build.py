"""build_demo: every fake provider with the story's history, synced into a throwaway SQLite database, tracked
history and live traffic through the recording proxy, and a ledger for the account that has no balance API.

What comes back keeps everything running (the fakes, the proxy, the keys in the environment) until `stop()`, so
the dashboard can sync again and the proxy can take more traffic while the demo is shown.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from sqlalchemy import Engine

from creditgauge.analysis.alerts.engine import check_alerts
from creditgauge.analysis.daily import spend_series
from creditgauge.capture.journal import Journal
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.writer import EventWriter
from creditgauge.config import Config
from creditgauge.demo.providers import DemoFakes
from creditgauge.demo.scenario import Scenario
from creditgauge.demo.settings import CONFIG_NAME, DATABASE_NAME, JOURNAL_NAME, DemoKeys, config_data, write_config
from creditgauge.demo.tracked import record_history, tracked_key_links
from creditgauge.demo.traffic import DemoProxy, send_traffic
from creditgauge.domain import as_utc, day_start, utcnow
from creditgauge.errors import ConfigError, StoreError
from creditgauge.pricing import Pricer
from creditgauge.store.engine import open_engine
from creditgauge.store.ledger import add_entry
from creditgauge.sync import SyncReport, run_sync

T = TypeVar("T")
THOUSAND = Decimal(1000)
PROMOTION = Decimal(500)


@dataclass
class DemoHandle:
    """A running demo: its config and database, the fakes' and the proxy's URLs, and what was generated."""

    workdir: Path
    config: Config
    config_path: Path
    database_url: str
    engine: Engine
    scenario: Scenario
    now: datetime
    fake_urls: dict[str, str]
    proxy_url: str
    sync_report: SyncReport
    tracked_events: int
    live_requests: int
    recorder: Recorder  # the live proxy's: observers added to it see every event it records
    _cleanup: ExitStack = field(repr=False)

    def stop(self) -> None:
        """Stop the proxy and every fake, drain the writer, close the database, take the keys out of the
        environment. The work directory is left as it is (its owner decides whether to keep it)."""
        self._cleanup.close()

    def __enter__(self) -> DemoHandle:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def build_demo(workdir: Path, *, days: int = 180, now: datetime | None = None,
               progress: Callable[[str], None] | None = None) -> DemoHandle:
    """Build the demo in `workdir` (files of an earlier demo there are replaced) and leave it running.

    `now` (default: the current time) ends the history; keep it on the real date, because some connectors read
    "the latest" relative to the real clock (OpenRouter's /activity serves the last 30 days before today)."""
    now = as_utc(now) if now else utcnow()
    try:
        scenario = Scenario(days, now.date())
    except ValueError as exc:
        raise ConfigError(f"--days {days}: {exc}") from None
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    _remove_earlier_demo(workdir)
    step = progress or (lambda _text: None)
    cleanup = ExitStack()
    try:
        fakes = DemoFakes.for_story(scenario)
        step(f"starting {len(fakes.servers())} fake providers on 127.0.0.1")
        urls = fakes.start()
        cleanup.callback(fakes.stop)
        keys = DemoKeys()
        keys.install()
        cleanup.callback(keys.remove)
        config = write_config(config_data(urls, workdir=workdir, days=days, xai_team_id=fakes.xai.team_id,
                                          tracked_keys=tracked_key_links(fakes.openai)), workdir)
        database_url = f"sqlite:///{workdir / DATABASE_NAME}"  # never $CREDITGAUGE_DATABASE_URL: yours stays untouched
        engine = open_engine(database_url)
        cleanup.callback(engine.dispose)
        step(f"syncing {len(config.accounts)} accounts: {days} days of history")
        report = _in_own_thread(lambda: run_sync(config, engine, since=scenario.first, now=now))
        step("recording tracked history through the capture path")
        pricer = Pricer.from_config(config)
        history = Recorder(pricer, EventWriter(engine).start())  # generated, so replayable: no journal needed
        tracked = record_history(history, fakes.openai, scenario, now)
        _drain(history, workdir)
        step("sending live traffic through the recording proxy")
        recorder = Recorder(pricer, EventWriter(engine, Journal(workdir / JOURNAL_NAME)).start())
        cleanup.callback(recorder.close)
        proxy = DemoProxy({"openai": ("openai", urls["upstream"]), "groq": ("groq", urls["groq"])}, recorder)
        proxy_url = proxy.start()
        cleanup.callback(proxy.stop)
        live = send_traffic(proxy_url, project=fakes.openai.projects[0].id)
        if not recorder.writer.flush(timeout=60):
            raise StoreError(f"the demo database {workdir / DATABASE_NAME} did not take the proxy's events in time")
        step("adding the OpenAI ledger (deposits and a promotional grant)")
        add_openai_ledger(engine, scenario, now)
        step("checking the alert rules: the day after the leak, then now")
        for moment in (day_start(scenario.leak.day) + timedelta(days=1, hours=12), now):
            _in_own_thread(partial(asyncio.run, check_alerts(config, engine, now=moment)))
    except BaseException:
        cleanup.close()
        raise
    return DemoHandle(workdir, config, workdir / CONFIG_NAME, database_url, engine, scenario, now, urls, proxy_url,
                      report, tracked, live, recorder, cleanup)


def _in_own_thread(work: Callable[[], T]) -> T:
    """Run `work` on a thread of its own: run_sync starts an event loop, which cannot happen on a thread that
    already runs one (an async caller, or Playwright's sync API in the browser tests)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="creditgauge-demo-sync") as pool:
        return pool.submit(work).result()


def _drain(recorder: Recorder, workdir: Path) -> None:
    if not recorder.close(timeout=120):
        raise StoreError(f"the demo database {workdir / DATABASE_NAME} did not take the tracked history in time")


def _remove_earlier_demo(workdir: Path) -> None:
    """Only the demo's own files: whatever else lives in the directory is not ours to touch."""
    for name in (DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm", CONFIG_NAME):
        (workdir / name).unlink(missing_ok=True)
    shutil.rmtree(workdir / JOURNAL_NAME, ignore_errors=True)


def _thousands(amount: Decimal) -> Decimal:
    return (amount / THOUSAND).to_integral_value(rounding=ROUND_CEILING) * THOUSAND


def add_openai_ledger(engine: Engine, scenario: Scenario, now: datetime) -> None:
    """OpenAI has no balance endpoint: the ledger holds a promotional grant that expired after a month and two
    prepaid deposits sized to leave about two months of recent spend."""
    series = spend_series(engine, since=scenario.first, until=scenario.today + timedelta(days=1),
                          accounts=["openai"]).get(("openai", "USD"))
    if series is None:
        raise StoreError("the demo's OpenAI account has no reported spend: its sync failed (see the sync report)")
    total = series.total(scenario.first, scenario.today + timedelta(days=1))
    recent = series.total(scenario.today - timedelta(days=14), scenario.today) / 14
    opened = day_start(scenario.first) + timedelta(hours=9)
    middle = day_start(scenario.first + timedelta(days=scenario.days // 2)) + timedelta(hours=9)
    first_deposit = _thousands(total / 2)
    entries = [
        ("grant", PROMOTION, opened, opened + timedelta(days=30), "promotional credit"),
        ("deposit", first_deposit, opened, None, "prepaid credit"),
        ("deposit", _thousands(total - first_deposit - PROMOTION + 60 * recent), middle, None, "top-up"),
    ]
    for kind, amount, at, expires_at, note in entries:
        add_entry(engine, account="openai", kind=kind, amount=amount, currency="USD", at=at, expires_at=expires_at,
                  note=note, created_at=now)


__all__ = ["DemoHandle", "build_demo"]
