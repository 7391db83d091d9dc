"""Benchmark: a 180-day backfill of an OpenAI account (costs plus the ten usage types, names, spend limit) through
`creditgauge.sync.run_sync`, against FakeOpenAI with 30 ms of added latency per request, into a fresh database.

    .venv/bin/python benchmarks/sync_openai.py [--days 180] [--latency 0.03] [--concurrency 4] [--postgres URL]

SQLite in a temporary directory by default; with --postgres (a server URL such as postgresql://user@host/postgres)
a throwaway database is created on that server and dropped afterwards, so nothing else is touched.

Prints the wall time, the requests made, the rows stored and the slowest tasks (fetch plus store).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from creditgauge.config import parse_config
from creditgauge.fakes.openai import FakeOpenAI
from creditgauge.store import schema
from creditgauge.store.engine import open_engine
from creditgauge.sync import run_sync

KEY_ENV = "CREDITGAUGE_BENCH_OPENAI_ADMIN_KEY"


@contextmanager
def database(postgres: str | None) -> Iterator[str]:
    """A database URL for one run: a temporary SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    admin = create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"cg_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--latency", type=float, default=0.03, help="seconds added to every fake response")
    parser.add_argument("--concurrency", type=int, default=4, help="endpoint tasks at once (sync.concurrency)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL to run on (a throwaway database is used)")
    args = parser.parse_args()

    now = datetime.now(UTC)
    since = now.date() - timedelta(days=args.days - 1)  # with today: `days` whole UTC days
    os.environ[KEY_ENV] = "sk-admin-benchmark-0000000000"
    with database(args.postgres) as url, FakeOpenAI(days=args.days, end=now.date(), latency=args.latency) as fake:
        engine = open_engine(url)
        config = parse_config({
            "accounts": {"openai": {"provider": "openai", "key_env": KEY_ENV, "base_url": fake.url}},
            "sync": {"concurrency": args.concurrency},
        }, None)
        started = time.perf_counter()
        report = run_sync(config, engine, since=since, now=now)
        wall = time.perf_counter() - started
        with engine.connect() as connection:
            stored = {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                      for table in (schema.cost_buckets, schema.usage_buckets, schema.entity_names)}
        engine.dispose()

    backend = "postgresql" if args.postgres else "sqlite"
    print(f"openai backfill: {args.days} days, {args.latency * 1000:.0f} ms latency, "
          f"concurrency {args.concurrency}, {backend}")
    print(f"status            {report.status}")
    print(f"wall time         {wall:.2f} s")
    print(f"requests made     {report.requests} (fake saw {len(fake.requests)})")
    print("rows stored       " + ", ".join(f"{name} {count}" for name, count in stored.items()))
    for result in sorted(report.results, key=lambda r: r.seconds, reverse=True)[:5]:
        print(f"  {result.source:<34} {result.seconds:6.2f} s  {'ok' if result.ok else result.error}")


if __name__ == "__main__":
    main()
