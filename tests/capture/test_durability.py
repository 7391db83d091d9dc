"""`creditgauge proxy` as a real process under load, killed with SIGKILL and restarted: every request that completed
for its client has its event in the database exactly once. The same while the database is unavailable during the
load (PostgreSQL behind a closed TCP gate; SQLite held by another process's exclusive lock)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from capture_support import ProxyProcess, TcpGate, free_port, gated_url
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from creditgauge.fakes.upstream import FakeUpstream
from creditgauge.store import schema
from creditgauge.store.engine import open_engine

KEY = "sk-proj-durability000000000000000"


def write_config(path: Path, database_url: str, upstream_url: str, journal: Path) -> Path:
    path.write_text(
        f'database_url = "{database_url}"\n\n[proxy]\njournal_dir = "{journal}"\nbatch_size = 50\n\n'
        f'[accounts.openai-main]\nprovider = "openai"\nbase_url = "{upstream_url}"\n', encoding="utf-8")
    return path


async def load(url: str, completed: list[str], *, answers: int, within: float,
               kill: Callable[[], None] | None = None) -> None:
    """Requests at concurrency 16 until `answers` more have completed (at most `within` s: a busy machine starts the
    proxy slowly); with `kill`, it is called then and the load goes on for 0.4 s, so requests are in flight when
    the process dies. The ids of answers the client received in full go to `completed` (a stream counts once its
    [DONE] arrived)."""
    started, target = time.monotonic(), len(completed) + answers
    ends = [started + within]
    headers = {"authorization": f"Bearer {KEY}"}

    async def worker(index: int, session: aiohttp.ClientSession) -> None:
        n = 0
        while time.monotonic() < ends[0]:
            n += 1
            stream = (index + n) % 2 == 0
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{index}-{n}"}],
                    "stream": stream}
            try:
                async with session.post(url, json=body, headers=headers) as answer:
                    if answer.status != 200:
                        continue
                    if stream:
                        text = await answer.text()
                        if "data: [DONE]" in text:
                            completed.append(text.split('"id":"', 1)[1].split('"', 1)[0])
                    else:
                        completed.append((await answer.json())["id"])
            except (TimeoutError, aiohttp.ClientError, ValueError, IndexError):
                await asyncio.sleep(0.01)

    async def enough() -> None:
        while len(completed) < target and time.monotonic() < ends[0]:
            await asyncio.sleep(0.01)
        if kill is not None:
            kill()
            ends[0] = min(ends[0], time.monotonic() + 0.4)
        else:
            ends[0] = time.monotonic()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await asyncio.gather(enough(), *(worker(i, session) for i in range(16)))


def assert_exactly_once(database_url: str, completed: list[str], log: Path) -> None:
    engine = open_engine(database_url)
    table = schema.usage_events
    with engine.connect() as connection:
        counts = dict(connection.execute(select(table.c.request_id, func.count()).group_by(table.c.request_id)).all())
    engine.dispose()
    assert len(set(completed)) == len(completed)
    missing = [rid for rid in completed if counts.get(rid) != 1]
    assert not missing, (f"{len(missing)} of {len(completed)} completed requests without exactly one event, "
                         f"e.g. {missing[:3]}; proxy log:\n{log.read_text()}")
    assert all(count == 1 for count in counts.values())


@contextmanager
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(keys={KEY})
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def run_scenario(tmp_path: Path, proxy_db_url: str, *, outage: tuple[Callable[[], None], Callable[[], None]]
                 | None = None) -> list[str]:
    """Load until 100 answers, kill -9 with more in flight, restart, load for 100 answers more, then SIGTERM. With
    `outage`, the database goes down before the first load and comes back only after the second, before the
    SIGTERM."""
    completed: list[str] = []
    port = free_port()
    log = tmp_path / "proxy.log"
    with upstream() as fake:
        config = write_config(tmp_path / "config.toml", proxy_db_url, fake.url, tmp_path / "journal")
        proxy = ProxyProcess(config, port, log)
        try:
            if outage:
                outage[0]()
            proxy.start()
            url = f"http://127.0.0.1:{port}/openai-main/v1/chat/completions"
            asyncio.run(load(url, completed, answers=100, within=10, kill=proxy.kill))
            before_restart = len(completed)
            proxy.start()
            asyncio.run(load(url, completed, answers=100, within=10))
            assert before_restart > 20 and len(completed) - before_restart > 20, \
                f"too little load to mean anything ({before_restart} + {len(completed) - before_restart})"
            if outage:
                outage[1]()
            assert proxy.terminate() == 0, log.read_text()
        finally:
            proxy.stop()
    return completed


def test_kill_9_under_load_loses_nothing_and_duplicates_nothing(database_url: str, tmp_path: Path) -> None:
    completed = run_scenario(tmp_path, database_url)
    assert_exactly_once(database_url, completed, tmp_path / "proxy.log")


def test_database_unavailable_during_the_load(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("postgresql"):
        target = make_url(database_url)
        gate = TcpGate(target.host or "127.0.0.1", target.port or 5432)
        try:
            completed = run_scenario(tmp_path, gated_url(database_url, gate), outage=(gate.close, gate.reopen))
        finally:
            gate.stop()
    else:
        open_engine(database_url).dispose()  # the database exists; another process now holds it locked
        holder = subprocess.Popen([sys.executable, "-c", (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('BEGIN EXCLUSIVE'); "
            "print('locked', flush=True); sys.stdin.readline()"), make_url(database_url).database or ""],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"

        def release() -> None:
            assert holder.stdin is not None
            holder.stdin.write(b"\n")
            holder.stdin.flush()
            holder.wait(10)

        try:
            completed = run_scenario(tmp_path, database_url, outage=(lambda: None, release))
        finally:
            if holder.poll() is None:
                holder.kill()
    assert_exactly_once(database_url, completed, tmp_path / "proxy.log")


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDITGAUGE_CONFIG", raising=False)
