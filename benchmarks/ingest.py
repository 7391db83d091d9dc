"""How fast tracked events get priced and stored: events per second through the batch writer (journal + queue +
one writer thread) into SQLite and PostgreSQL, and the cost of pricing one event.

    .venv/bin/python benchmarks/ingest.py [--events 100000] [--postgres postgresql://user@host/db]

PostgreSQL is measured in a scratch database created and dropped on the server given by --postgres (default
$CREDITGAUGE_TEST_POSTGRES_URL); without one, only SQLite is measured. Goals: more than 20,000 events/s stored,
pricing under 5 µs an event (genai-prices alone: about 70 µs a call).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from creditgauge.capture.journal import Journal
from creditgauge.capture.writer import EventWriter
from creditgauge.domain import UsageEvent
from creditgauge.pricing import Pricer
from creditgauge.store import schema
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_checked

MODELS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4-5"),
          ("gemini", "gemini-2.5-flash"), ("deepseek", "deepseek-chat"), ("groq", "llama-3.3-70b-versatile")]
GOAL_EVENTS_PER_SECOND = 20_000
GOAL_PRICING_US = 5.0


def make_events(count: int, *, pricer: Pricer | None = None) -> list[UsageEvent]:
    start = datetime.now(UTC) - timedelta(hours=1)
    events = []
    for i in range(count):
        provider, model = MODELS[i % len(MODELS)]
        event = UsageEvent(id=f"bench-{uuid.uuid4().hex}", account=f"{provider}-main", provider=provider,
                           ts=start + timedelta(milliseconds=i), model=model, endpoint="chat.completions",
                           source="proxy", input_tokens=1000 + i % 900, cached_input_tokens=i % 500,
                           output_tokens=200 + i % 300, reasoning_tokens=i % 50, key_fingerprint="fp_0123456789ab",
                           tags={"team": "search"} if i % 3 == 0 else {}, status_code=200, latency_ms=12)
        if pricer is not None:
            pricer.apply(event)
        events.append(event)
    return events


def pricing_microseconds(rounds: int) -> tuple[float, float]:
    """(our cached pricing per event, one genai_prices.calc_price call) in µs."""
    from genai_prices import Usage, calc_price

    pricer = Pricer()
    events = make_events(600)
    for event in events:  # warm the cache once per model and minute, as a running proxy is
        pricer.price(event)
    started = time.perf_counter()
    for i in range(rounds):
        pricer.price(events[i % len(events)])
    ours = (time.perf_counter() - started) / rounds * 1e6
    usage = Usage(input_tokens=1000, cache_read_tokens=200, output_tokens=300)
    calls = max(200, rounds // 100)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(calls):
            calc_price(usage, "gpt-4o-mini", provider_id="openai")
    return ours, (time.perf_counter() - started) / calls * 1e6


def writer_events_per_second(url: str, count: int, batch_size: int) -> float:
    """Submit `count` priced events to a writer (journal included) and wait until they are committed."""
    engine = open_engine(url)
    events = make_events(count, pricer=Pricer())
    with tempfile.TemporaryDirectory(prefix="cg-ingest-") as journal_dir:
        writer = EventWriter(engine, Journal(Path(journal_dir)), batch_size=batch_size, queue_size=count + 1,
                             flush_interval=0.01).start()
        started = time.perf_counter()
        for event in events:
            writer.submit(event)
        assert writer.flush(600), "the writer did not finish"
        elapsed = time.perf_counter() - started
        writer.close()
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(schema.usage_events)).scalar()
    engine.dispose()
    assert stored == count, f"{stored} stored of {count}"
    return count / elapsed


def store_events_per_second(url: str, count: int, batch_size: int) -> float:
    """The database side alone: store_checked (limits checked, then stored) in batches, as the writer thread calls
    it (no journal, no queue)."""
    engine = open_engine(url)
    events = make_events(count, pricer=Pricer())
    started = time.perf_counter()
    for offset in range(0, count, batch_size):
        store_checked(engine, events[offset:offset + batch_size])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count / elapsed


def scratch_postgres(base: str) -> tuple[str, object]:
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"cg_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return base.rsplit("/", 1)[0] + f"/{name}", (admin, name)


def drop_postgres(handle: object) -> None:
    admin, name = handle  # type: ignore[misc]
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("CREDITGAUGE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    ours, catalog = pricing_microseconds(200_000)
    print(f"\ningest: {args.events:,} events, batch {args.batch_size}, {os.cpu_count()} cores\n")
    print("| measure | result | goal |")
    print("|---|---|---|")
    print(f"| pricing, cached, per event | {ours:.2f} µs | < {GOAL_PRICING_US} µs |")
    print(f"| genai_prices.calc_price, per call | {catalog:.1f} µs | (reference) |")
    databases = [("SQLite", None)] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    for label, server in databases:
        for what, measure in (("batch writes (store_checked)", store_events_per_second),
                              ("whole writer: submit -> journal -> queue -> commit", writer_events_per_second)):
            with tempfile.TemporaryDirectory(prefix="cg-ingest-db-") as tmp:
                url, handle = (f"sqlite:///{tmp}/ingest.db", None) if server is None else scratch_postgres(server)
                try:
                    rate = measure(url, args.events, args.batch_size)
                finally:
                    if handle is not None:
                        drop_postgres(handle)
            print(f"| {label}: {what} | {rate:,.0f} events/s | > {GOAL_EVENTS_PER_SECOND:,} |")
    if not args.postgres:
        print("| PostgreSQL | not measured (no --postgres) | |")


if __name__ == "__main__":
    main()
