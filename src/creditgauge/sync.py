"""Run connectors into the store: incremental from each source's high-water mark, re-reading a late-data window,
endpoint tasks concurrent within limits, every failure recorded while everything else is still stored.

Each endpoint task is isolated: whatever it meets (a provider error, a bound of `[sync]` reached, an answer the
connector cannot read, a value the store refuses) fails that task or that item only, and the run's status says what
happened: `ok`, `partial` (some tasks failed or some items were not stored) or `failed` (every task failed)."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine

from creditgauge.config import AccountConfig, Config, resolve_key
from creditgauge.connectors.base import Connector, EndpointTask
from creditgauge.domain import EndpointUnavailable, ItemProblem, Window, day_start, utcnow
from creditgauge.errors import CreditgaugeError
from creditgauge.http import Budget, RetryPolicy, task_budget
from creditgauge.ids import new_ulid
from creditgauge.providers.registry import connector_class
from creditgauge.redact import redact
from creditgauge.store import sync_log
from creditgauge.store.facts import register_account, store_facts

log = logging.getLogger(__name__)

ERROR_CHARS = 500  # an unexpected error's text (an SQL statement, a parser's message) is cut to this


@dataclass
class TaskResult:
    account: str
    source: str
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    window: Window | None = None
    seconds: float = 0.0
    problems: list[ItemProblem] = field(default_factory=list)  # items not stored; the task itself succeeded
    note: str | None = None  # "not available for this account": an optional endpoint this server does not offer
    spent: dict[str, Any] = field(default_factory=lambda: Budget().as_dict())  # requests, pages, bytes, retry wait

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account, "source": self.source, "ok": self.ok, "counts": self.counts,
            "error": self.error, "note": self.note, "seconds": round(self.seconds, 3),
            "since": self.window.start if self.window else None, "until": self.window.end if self.window else None,
            "item_problems": len(self.problems),
            "problems": [asdict(p) for p in self.problems[:sync_log.PROBLEMS_KEPT]],
            **self.spent,
        }


@dataclass
class SyncReport:
    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    results: list[TaskResult] = field(default_factory=list)
    requests: int = 0
    error: str | None = None  # the run itself broke off (the database went away): status "failed"

    @property
    def failures(self) -> list[TaskResult]:
        return [r for r in self.results if not r.ok]

    @property
    def item_problems(self) -> int:
        return sum(len(r.problems) for r in self.results)

    @property
    def status(self) -> str:
        if self.error is not None or (self.results and len(self.failures) == len(self.results)):
            return "failed"
        return "partial" if self.failures or self.item_problems else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "started_at": self.started_at,
                "finished_at": self.finished_at, "requests": self.requests, "error": self.error,
                "failed_tasks": len(self.failures), "item_problems": self.item_problems,
                "results": [r.as_dict() for r in self.results]}


class Progress(Protocol):
    def planned(self, account: str, sources: Sequence[str]) -> None: ...
    def started(self, account: str, source: str) -> None: ...
    def finished(self, result: TaskResult) -> None: ...


def plan_window(
    task: EndpointTask, high_water: datetime | None, *, today: date, config: Config,
    since: date | None, full: bool,
) -> Window:
    """Whole UTC days up to the end of today. First sync backfills; later ones restart a few days before the mark
    because providers post costs late and revise recent days."""
    end = day_start(today + timedelta(days=1))
    if since is not None:
        start = day_start(since)
    elif full or high_water is None:
        start = day_start(today - timedelta(days=config.sync.backfill_days))
    else:
        start = min(day_start(high_water), day_start(today)) - timedelta(days=config.sync.late_window_days)
    return Window(min(start, end), end)


class _Runner:
    def __init__(self, config: Config, engine: Engine, *, run_id: str, since: date | None, full: bool,
                 progress: Progress | None, now: datetime, client_options: dict[str, Any],
                 current_state_only: bool = False) -> None:
        self.config, self.engine, self.since, self.full = config, engine, since, full
        self.current_state_only = current_state_only
        self.progress, self.now, self.client_options = progress, now, client_options
        self.run_id = run_id
        self.account_slots = asyncio.Semaphore(config.sync.account_concurrency)
        self.requests = 0

    def _connector(self, account: AccountConfig) -> Connector:
        cls = connector_class(account.provider)
        key = resolve_key(account, required=cls.needs_key)
        retry = RetryPolicy(max_retries=self.config.sync.max_retries, max_total=self.config.sync.max_retry_seconds)
        return cls.build(account, key, timeout=self.config.sync.timeout_seconds, retry=retry, **self.client_options)

    async def account(self, account: AccountConfig) -> list[TaskResult]:
        async with self.account_slots:
            try:
                connector = self._connector(account)
            except CreditgaugeError as error:
                return [await self._failed(TaskResult(account.name, "setup", False, error=redact(str(error))))]
            try:
                await asyncio.to_thread(register_account, self.engine, account.name, account.provider,
                                        connector.currency_for(account))
                tasks = [t for t in connector.tasks() if not (self.current_state_only and t.windowed)]
                if self.progress:
                    self.progress.planned(account.name, [t.source for t in tasks])
                marks = await asyncio.to_thread(sync_log.high_waters, self.engine, account.name)
                slots = asyncio.Semaphore(self.config.sync.concurrency)
                return list(await asyncio.gather(*(self.task(account.name, t, marks.get(t.source), slots)
                                                   for t in tasks)))
            except Exception as error:  # the account's setup broke (its tasks are isolated below): fail it alone
                return [await self._failed(TaskResult(account.name, "setup", False, error=unexpected(error)))]
            finally:
                self.requests += connector.client.requests_made
                await connector.aclose()

    async def _failed(self, result: TaskResult) -> TaskResult:
        await asyncio.to_thread(sync_log.record_failure, self.engine, result.account, result.source, self.now,
                                result.error or "")
        if self.progress:
            self.progress.finished(result)
        return result

    async def task(self, account: str, task: EndpointTask, high_water: datetime | None,
                   slots: asyncio.Semaphore) -> TaskResult:
        window = plan_window(task, high_water, today=self.now.date(), config=self.config, since=self.since,
                             full=self.full)
        async with slots:
            if self.progress:
                self.progress.started(account, task.source)
            started = time.perf_counter()
            result = await self._run(account, task, window)
            result.seconds = time.perf_counter() - started
        if result.ok:
            mark = window.end if task.windowed and result.note is None else None
            await asyncio.to_thread(sync_log.record_success, self.engine, account, task.source, self.now, mark,
                                    run_id=self.run_id, problems=result.problems, note=result.note)
            if self.progress:
                self.progress.finished(result)
            return result
        return await self._failed(result)

    async def _run(self, account: str, task: EndpointTask, window: Window) -> TaskResult:
        """Fetch and store one task within its bounds; every way it can go wrong becomes a failed result."""
        shown_window = window if task.windowed else None
        seconds = self.config.sync.task_seconds
        deadline = asyncio.timeout(seconds)
        with task_budget(self.config.sync.limits()) as budget:
            try:
                async with deadline:
                    facts = await task.fetch(window)
                stored = await asyncio.to_thread(
                    store_facts, self.engine, account=account, source=task.source, window=shown_window,
                    facts=facts, official=task.official)
            except TimeoutError as failure:
                error = (f"{task.source}: stopped after {seconds:g}s (sync.task_seconds); nothing of this endpoint "
                         "was stored") if deadline.expired() else unexpected(failure)
            except CreditgaugeError as failure:
                error = redact(str(failure))
            except Exception as failure:  # an answer the connector could not read, a value the database refused
                error = unexpected(failure)
            else:
                unavailable = next((f for f in facts if isinstance(f, EndpointUnavailable)), None)
                return TaskResult(account, task.source, True, counts=stored.counts, window=shown_window,
                                  problems=stored.problems, spent=budget.as_dict(),
                                  note=redact(unavailable.detail) if unavailable else None)
        return TaskResult(account, task.source, False, error=error, window=shown_window, spent=budget.as_dict())


def unexpected(error: Exception) -> str:
    """One line for an error no layer turned into a CreditgaugeError; the traceback goes to the debug log."""
    log.debug("%s", redact("".join(traceback.format_exception(error))))
    text = redact(" ".join(str(error).split()))
    text = text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS] + "..."
    return f"unexpected {type(error).__name__}: {text}" if text else f"unexpected {type(error).__name__}"


async def sync_async(
    config: Config,
    engine: Engine,
    *,
    accounts: Sequence[str] | None = None,
    since: date | None = None,
    full: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
    trigger: str = "cli",
    client_options: dict[str, Any] | None = None,
    current_state_only: bool = False,
) -> SyncReport:
    """Sync the named accounts (default: all) and record the run. Never raises for a provider's failure: each
    failure is a TaskResult with ok=False, recorded in the run and in sync_state.

    `current_state_only` runs just the tasks that read a current state (balances, limits, names), not the reports:
    the frequent balance refresh of `serve`."""
    selected = [config.account(name) for name in accounts] if accounts else list(config.accounts.values())
    now = now or utcnow()
    report = SyncReport(run_id=new_ulid(), started_at=now)
    await asyncio.to_thread(sync_log.start_run, engine, report.run_id, now, trigger)
    runner = _Runner(config, engine, run_id=report.run_id, since=since, full=full, progress=progress, now=now,
                     client_options=client_options or {}, current_state_only=current_state_only)
    try:
        for results in await asyncio.gather(*(runner.account(a) for a in selected)):
            report.results.extend(results)
    except Exception as error:
        report.error = unexpected(error)
        raise
    finally:
        report.requests = runner.requests
        report.finished_at = utcnow()
        await asyncio.to_thread(sync_log.finish_run, engine, report.run_id, report.finished_at, report.status,
                                report.requests, [r.as_dict() for r in report.results])
    return report


def run_sync(config: Config, engine: Engine, **options: Any) -> SyncReport:
    """Synchronous entry point for the CLI, the scheduler's thread and the benchmarks."""
    return asyncio.run(sync_async(config, engine, **options))
