"""The OTLP store process's work alone: `store_once` on `Checked` batches of 2,048 priced span events (what the
receiver's helper process is sent), into a fresh database; wall time, the client's CPU and, on a PostgreSQL server
on this machine, the server's CPU a span.

    .venv/bin/python benchmarks/store_batches.py [--spans 30720] [--rounds 3] [--postgres postgresql://...]

The server's CPU is read from /proc: the backends' time is added to their parent's (the postmaster's) once they
exit, so the engine is disposed of before the second reading. Compare two versions of the code with
`PYTHONPATH=<their src>`, in alternating runs: the machine's speed drifts by a fifth from one minute to the next.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from otlp_ingest import span_requests
from sqlalchemy import Engine, text

from creditgauge.capture.collector import tune_garbage_collector
from creditgauge.capture.once import store_once
from creditgauge.capture.otlp import PROTOBUF, SpanReader, decode
from creditgauge.config import parse_config
from creditgauge.domain import UsageEvent
from creditgauge.limits import Checked
from creditgauge.pricing import Pricer
from creditgauge.store.engine import migrate, open_engine

BATCH = 2048  # the OTLP writer's batch (capture.otlp_receiver.STORE_BATCH)


def priced_spans(count: int) -> list[UsageEvent]:
    config = parse_config({"database_url": "sqlite://", "accounts": {"openai-main": {"provider": "openai"},
                                                                     "anthropic-main": {"provider": "anthropic"}}},
                          None)
    reader, pricer = SpanReader(config), Pricer.from_config(config)
    events = [event for body in span_requests(count, 512)
              for event in reader.read(decode(body, PROTOBUF, None, ExportTraceServiceRequest)).events]
    for event in events:
        pricer.apply(event)
    return events


def server_cpu_reader(engine: Engine) -> Callable[[], float] | None:
    """A function giving the CPU seconds the server's exited backends used, or None when the server is not a
    PostgreSQL on this machine."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    try:
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None

    def read() -> float:
        fields = Path(f"/proc/{postmaster}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime + cstime

    return read


def measure(url: str, events: list[UsageEvent]) -> tuple[float, float, float | None]:
    """(wall, client CPU, server CPU or None) in µs a span, for every batch after the first."""
    batches = [Checked(events[offset:offset + BATCH]) for offset in range(0, len(events), BATCH)]
    engine = open_engine(url)
    migrate(engine)
    store_once(engine, batches[0])  # warms the path: statements, caches, the temporary table
    server = server_cpu_reader(engine)
    engine.dispose()  # the warm-up's backend exits, so its time is in the first reading
    engine = open_engine(url)
    time.sleep(0.2)
    server_before = server() if server else 0.0
    cpu, started = time.process_time(), time.perf_counter()
    for batch in batches[1:]:
        store_once(engine, batch)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    time.sleep(0.3)  # the backend's exit, so its time is added to the postmaster's
    spans = len(events) - len(batches[0])
    server_time = (server() - server_before) / spans * 1e6 if server else None
    return wall / spans * 1e6, cpu / spans * 1e6, server_time


def main() -> None:
    from ingest import drop_postgres, scratch_postgres  # benchmarks/ingest.py: the scratch database helpers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=30_720)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("CREDITGAUGE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    events = priced_spans(args.spans)
    tune_garbage_collector()  # as the store process does
    print(f"\nstore_once, batches of {BATCH}, {args.spans:,} spans, {args.rounds} round(s), medians\n")
    print("| database | wall a span | client CPU a span | server CPU a span |")
    print("|---|---|---|---|")
    for label in ["SQLite"] + (["PostgreSQL"] if args.postgres else []):
        runs = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="cg-store-") as tmp:
                if label == "SQLite":
                    runs.append(measure(f"sqlite:///{tmp}/store.db", events))
                    continue
                url, handle = scratch_postgres(args.postgres)
                try:
                    runs.append(measure(url, events))
                finally:
                    drop_postgres(handle)
        servers = [run[2] for run in runs if run[2] is not None]
        server = f"{median(servers):.1f} µs" if servers else "(in process)" if label == "SQLite" else "(not local)"
        print(f"| {label} | {median(run[0] for run in runs):.1f} µs | {median(run[1] for run in runs):.1f} µs | "
              f"{server} |")


if __name__ == "__main__":
    main()
