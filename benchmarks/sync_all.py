"""Benchmark: a 180-day backfill of every provider account of the demo (OpenAI, Anthropic, xAI, OpenRouter, DeepSeek,
Moonshot, Groq) against their fakes with added latency per request, run twice on fresh databases: with the sync's
concurrency (endpoints of different accounts at once) and with everything one request after another.

    .venv/bin/python benchmarks/sync_all.py [--days 180] [--latency 0.03] [--postgres URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from creditgauge.config import parse_config
from creditgauge.demo.providers import DemoFakes
from creditgauge.demo.scenario import Scenario
from creditgauge.demo.settings import DemoKeys, config_data
from creditgauge.domain import utcnow
from creditgauge.store.engine import open_engine
from creditgauge.sync import run_sync


def one_run(
    fakes: DemoFakes, urls: dict[str, str], *, days: int, serial: bool, database_url: str
) -> tuple[float, int, str]:
    data = config_data(urls, workdir=Path(tempfile.mkdtemp()), days=days, xai_team_id=fakes.xai.team_id)
    if serial:
        data["sync"] |= {"concurrency": 1, "account_concurrency": 1}
    else:
        data["sync"] |= {"concurrency": 8, "account_concurrency": 8}
    config = parse_config(data, None)
    engine = open_engine(database_url)
    started = time.perf_counter()
    report = run_sync(config, engine, since=utcnow().date() - timedelta(days=days))
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, report.requests, report.status


def postgres_database(server: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--latency", type=float, default=0.03, help="seconds added to every fake response")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (throwaway databases are created there)")
    args = parser.parse_args()

    scenario = Scenario(args.days, utcnow().date())
    fakes = DemoFakes.for_story(scenario)
    for server in fakes.servers().values():
        server.latency = args.latency
    keys = DemoKeys()
    keys.install()
    urls = fakes.start()
    try:
        results = {}
        for label, serial in (("concurrent", False), ("one after another", True)):
            if args.postgres:
                url = postgres_database(args.postgres, f"cg_bench_sync_all_{int(serial)}")
            else:
                url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
            results[label] = one_run(fakes, urls, days=args.days, serial=serial, database_url=url)
    finally:
        fakes.stop()
        keys.remove()
    backend = "postgresql" if args.postgres else "sqlite"
    print(f"all providers, {args.days}-day backfill, {args.latency * 1000:.0f} ms per request, {backend}")
    for label, (seconds, requests, status) in results.items():
        print(f"  {label:<18} {seconds:6.2f} s   {requests:4d} requests   status {status}")
    concurrent, serial = results["concurrent"][0], results["one after another"][0]
    print(f"  speed-up          {serial / concurrent:6.1f} x")


if __name__ == "__main__":
    main()
