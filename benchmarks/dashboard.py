"""Dashboard API response times over a large store, on SQLite and PostgreSQL.

The store: 10 million tracked events over the last 180 days (8 accounts, 3 models each, 4 projects, 3 keys), two
years of reported daily cost buckets, a ledger deposit per account. Events are loaded with bulk SQL (executemany
on SQLite, COPY on PostgreSQL), then the daily rollup is rebuilt once, as a bulk load must do.

Measured over HTTP against the real app served by uvicorn on 127.0.0.1, as `creditgauge serve` runs it:
GET /api/v1/status, 180-day spend grouped by model (by=model and by=day,model as the Spend page's chart asks)
from tracked, reported and blended (best) data, the pages: Spend (its default, a range, and the drill-downs into a
day, a model and a key) and Usage, and the keys report (30 days, tracked fingerprints linked to named keys) and the
Keys page with one key's days. Goal: median under 200 ms each.

    .venv/bin/python benchmarks/dashboard.py                       # 10M events, SQLite and PostgreSQL
    .venv/bin/python benchmarks/dashboard.py --events 1000000 --backends sqlite
PostgreSQL comes from CREDITGAUGE_BENCH_POSTGRES_URL (else CREDITGAUGE_TEST_POSTGRES_URL); a throwaway database is
created and dropped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import Engine, create_engine, text

from creditgauge.config import Config, parse_config
from creditgauge.domain import CostBucket, EntityName, Fact, Window, day_start
from creditgauge.store import rollup
from creditgauge.store.engine import open_engine
from creditgauge.store.facts import register_account, store_facts
from creditgauge.store.ledger import add_entry
from creditgauge.web import create_app

ACCOUNTS = {
    "openai-main": ("openai", ("gpt-4o", "gpt-4o-mini", "o3")),
    "openai-batch": ("openai", ("gpt-4.1", "gpt-4.1-mini", "text-embedding-3-small")),
    "anthropic-main": ("anthropic", ("claude-sonnet-4", "claude-haiku-4", "claude-opus-4")),
    "xai-team": ("xai", ("grok-4", "grok-3-mini", "grok-code-fast")),
    "groq-dev": ("groq", ("llama-3.3-70b", "llama-3.1-8b", "qwen3-32b")),
    "openrouter": ("openrouter", ("mistral-large", "deepseek-r1", "gemma-3")),
    "deepseek": ("deepseek", ("deepseek-chat", "deepseek-reasoner", "deepseek-coder")),
    "gemini": ("gemini", ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash")),
}
PROJECTS = ("search", "chat", "batch", "eval")
KEYS = ("fp_000000000001", "fp_000000000002", "fp_000000000003")
KEY_IDS = ("key_server", "key_laptop", "key_batch")  # the provider's ids of those keys, each with a name
EVENT_COLUMNS = ("id", "account", "provider", "ts", "endpoint", "model", "source", "key_fingerprint", "project",
                 "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
                 "requests", "status_code", "incomplete", "cost", "currency", "stored_at")
TRACKED_DAYS = 180
REPORTED_DAYS = 730
LEDGER_DAYS = 60  # each account's last top-up: the estimated balance counts spend since then


def config() -> Config:
    # Each account's tracked key fingerprints are linked to its listed keys, as the Keys page needs.
    return parse_config({"accounts": {name: {"provider": provider, "monthly_limit": "5000.00",
                                             "tracked_keys": dict(zip(KEYS, KEY_IDS, strict=True))}
                                      for name, (provider, _models) in ACCOUNTS.items()}}, None)


def events(count: int, now: datetime) -> Iterator[tuple[object, ...]]:
    """Deterministic events spread evenly over the last TRACKED_DAYS days (1% unpriced)."""
    start = day_start(now.date() - timedelta(days=TRACKED_DAYS - 1))
    span = (now - start).total_seconds()
    names = list(ACCOUNTS)
    for n in range(count):
        name = names[n % len(names)]
        provider, models = ACCOUNTS[name]
        ts = start + timedelta(seconds=span * n / count)
        input_tokens = 200 + (n * 7919) % 3000
        output_tokens = 50 + (n * 104729) % 800
        cached = input_tokens // 4 if n % 3 == 0 else 0
        cost = None if n % 100 == 0 else input_tokens * 2500 + output_tokens * 10000  # nano-dollars
        yield (f"bench{n:012d}", name, provider, ts, "/v1/chat/completions", models[(n // 8) % 3], "proxy",
               KEYS[n % 3], PROJECTS[(n // 24) % 4], input_tokens, cached, 0, output_tokens, 0, 1, 200, False,
               cost, "USD", ts)


def load_events(engine: Engine, count: int, now: datetime) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY usage_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for row in events(count, now):
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(EVENT_COLUMNS))
            sql = f"INSERT INTO usage_events ({', '.join(EVENT_COLUMNS)}) VALUES ({marks})"
            batch: list[tuple[object, ...]] = []
            for row in events(count, now):
                ts = row[3].strftime("%Y-%m-%d %H:%M:%S.%f")  # type: ignore[attr-defined]
                batch.append((*row[:3], ts, *row[4:19], ts))
                if len(batch) == 100_000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            cursor.executemany(sql, batch)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        rollup.rebuild(connection)


def load_reported(engine: Engine, now: datetime) -> None:
    first = now.date() - timedelta(days=REPORTED_DAYS)
    window = Window.days(first, now.date())
    for index, (name, (provider, models)) in enumerate(ACCOUNTS.items()):
        register_account(engine, name, provider, "USD")
        facts: list[Fact] = [CostBucket(day_start(first + timedelta(days=d)), day_start(first + timedelta(days=d + 1)),
                            Decimal(f"{(d % 7 + 3) * (m + 1) + index}.{(d * 37 + m) % 100:02d}"), "USD", model=model,
                            project=PROJECTS[m % 4], line_item=f"{model}, {kind}", api_key=KEY_IDS[m])
                 for d in range(REPORTED_DAYS) for m, model in enumerate(models) for kind in ("input", "output")]
        facts += [EntityName("api_key", key_id, f"{name}-{key_id}", {"redacted": f"sk-****{key_id[-4:]}"})
                  for key_id in KEY_IDS]
        store_facts(engine, account=name, source="costs", window=window, facts=facts)
        add_entry(engine, account=name, kind="deposit", amount=Decimal("20000.00"), currency="USD",
                  at=day_start(now.date() - timedelta(days=LEDGER_DAYS)), expires_at=None, note="top-up",
                  created_at=now)


def timed(client: httpx.Client, path: str, runs: int) -> tuple[float, float]:
    client.get(path)  # warm caches and connections
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def measure(engine: Engine, runs: int) -> list[tuple[str, float, float]]:
    """The app served by uvicorn on 127.0.0.1 (as `creditgauge serve` runs it), asked over HTTP: API reports and
    the Spend and Usage pages themselves, with their drill-downs."""
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    paths = [
        ("status", "/api/v1/status"),
        ("spend tracked 180d by model", "/api/v1/spend?since=180d&by=model&source=tracked"),
        ("spend tracked 180d by day,model", "/api/v1/spend?since=180d&by=day,model&source=tracked"),
        ("spend reported 180d by model", "/api/v1/spend?since=180d&by=model&source=reported"),
        ("spend reported 180d by day,model", "/api/v1/spend?since=180d&by=day,model&source=reported"),
        ("spend best 180d by model", "/api/v1/spend?since=180d&by=model&source=best"),
        ("spend best 180d by day,model", "/api/v1/spend?since=180d&by=day,model"),
        ("Spend page, default (30 days, best, by account)", "/spend"),
        ("Spend page's chart (30 days, best, by day,account)", "/api/v1/spend?since=30d&by=day,account"),
        ("Spend page, 90 days by model", "/spend?range=90d&group=model"),
        ("drill-down: a day's models (page)", f"/spend?day={yesterday}&group=model"),
        ("drill-down: a model's days (page)", "/spend?range=90d&group=day&model=gpt-4o"),
        ("drill-down: a key's days, tracked (page)", f"/spend?range=90d&group=day&source=tracked&key={KEYS[0]}"),
        ("Usage page, 30 days by model", "/usage?group=model"),
        ("keys 30d (the Keys page's data)", "/api/v1/keys"),
        ("Keys page, one key's days", "/keys?key=key_server"),
    ]
    server = uvicorn.Server(uvicorn.Config(create_app(config(), engine, scheduler=False), host="127.0.0.1", port=0,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            return [(label, *timed(client, path, runs)) for label, path in paths]
    finally:
        server.should_exit = True
        thread.join()


def postgres_database(base: str) -> tuple[str, Engine]:
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"cg_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return base.rsplit("/", 1)[0] + f"/{name}", admin


def run_backend(backend: str, count: int, runs: int) -> list[tuple[str, float, float]]:
    now = datetime.now(UTC)
    admin = None
    workdir = tempfile.TemporaryDirectory(prefix="cg-bench-")
    if backend == "sqlite":
        url = f"sqlite:///{Path(workdir.name) / 'bench.db'}"
    else:
        base = os.environ.get("CREDITGAUGE_BENCH_POSTGRES_URL") or os.environ.get("CREDITGAUGE_TEST_POSTGRES_URL")
        if not base:
            raise SystemExit("PostgreSQL: set CREDITGAUGE_BENCH_POSTGRES_URL (or run with --backends sqlite)")
        url, admin = postgres_database(base)
    engine = open_engine(url)
    try:
        started = time.perf_counter()
        load_reported(engine, now)
        load_events(engine, count, now)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        print(f"{backend}: loaded {count:,} events and {REPORTED_DAYS} days of reported buckets in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        return measure(engine, runs)
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
            admin.dispose()
        workdir.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"| backend | request ({args.events:,} tracked events) | median ms | p95 ms |")
    print("|---|---|---|---|")
    for backend in args.backends.split(","):
        for label, median, p95 in run_backend(backend.strip(), args.events, args.runs):
            print(f"| {backend} | {label} | {median:.1f} | {p95:.1f} |", flush=True)


if __name__ == "__main__":
    main()
