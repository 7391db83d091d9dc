"""Scheduled sync inside `serve`: per account, balances every 15 minutes and reports every hour by default (the
account's `balance_interval_minutes` / `report_interval_minutes`), each interval with jitter so many accounts
and many servers do not call a provider at the same moment; alert evaluation after every sync.

A balance tick syncs the account over today only (balances and limits, plus today's still-moving costs: one small
window); a report tick is a normal incremental sync, which re-reads the late-data window.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import Engine

from creditgauge.config import Config
from creditgauge.sync import SyncReport, sync_async
from creditgauge.web.metrics import Metrics

log = logging.getLogger(__name__)

Part = Literal["balances", "reports"]
DEFAULT_MINUTES: dict[Part, int] = {"balances": 15, "reports": 60}
JITTER = 0.1  # each wait is the interval plus or minus 10%
FIRST_RUN_SPREAD = timedelta(seconds=30)  # the first ticks after start are spread over this long


@dataclass
class Job:
    account: str
    part: Part
    interval: timedelta
    due: datetime


def interval_for(config: Config, account: str, part: Part) -> timedelta:
    settings = config.account(account)
    minutes = settings.balance_interval_minutes if part == "balances" else settings.report_interval_minutes
    return timedelta(minutes=minutes or DEFAULT_MINUTES[part])


class Scheduler:
    def __init__(
        self,
        config: Config,
        engine: Engine,
        *,
        metrics: Metrics,
        now: Callable[[], datetime],
        after_sync: Callable[[], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config, self.engine, self.metrics, self.now = config, engine, metrics, now
        self.after_sync = after_sync
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.lock = asyncio.Lock()  # one sync at a time: scheduled ticks and "sync now" queue behind each other
        start = now()
        self.jobs = [
            Job(name, part, interval_for(config, name, part),
                start + self.rng.random() * min(FIRST_RUN_SPREAD, interval_for(config, name, part)))
            for name in config.accounts for part in ("balances", "reports")
        ]

    def _next_due(self, job: Job) -> datetime:
        spread = job.interval * JITTER * (2 * self.rng.random() - 1)
        return max(job.due, self.now()) + job.interval + spread

    def due_jobs(self) -> list[Job]:
        moment = self.now()
        return [job for job in self.jobs if job.due <= moment]

    async def tick(self) -> None:
        """Run what is due: report syncs first (they include balances), then balance-only syncs."""
        due = self.due_jobs()
        reports = sorted({job.account for job in due if job.part == "reports"})
        balances = sorted({job.account for job in due if job.part == "balances"} - set(reports))
        if reports:
            await self.sync(reports, trigger="schedule")
        if balances:
            await self.sync(balances, trigger="schedule", current_state_only=True)
        for job in due:
            job.due = self._next_due(job)

    async def sync(self, accounts: Sequence[str] | None, *, trigger: str, since: date | None = None,
                   full: bool = False, current_state_only: bool = False) -> SyncReport:
        async with self.lock:
            report = await sync_async(self.config, self.engine, accounts=list(accounts) if accounts else None,
                                      since=since, full=full, trigger=trigger, now=self.now(),
                                      current_state_only=current_state_only)
            self.metrics.observe_sync(trigger, report.status, [(r.account, r.source) for r in report.failures])
            for failure in report.failures:
                log.warning("sync %s/%s failed: %s", failure.account, failure.source, failure.error)
            if self.after_sync is not None:
                try:
                    await self.after_sync()
                except Exception:  # an alert channel must never stop the schedule
                    log.exception("alert evaluation after sync failed")
            return report

    async def run_forever(self) -> None:
        while self.jobs:
            wait = (min(job.due for job in self.jobs) - self.now()).total_seconds()
            if wait > 0:
                await self.sleep(wait)
            try:
                await self.tick()
            except Exception:  # a store hiccup must not end the schedule; the next tick retries
                log.exception("scheduled sync failed")
                for job in self.due_jobs():
                    job.due = self._next_due(job)
