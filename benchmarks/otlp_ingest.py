"""How fast the OTLP receiver takes GenAI spans: spans per second accepted (decoded, priced, journaled, queued:
what the exporter waits for) and stored (committed by the writer, each checked against the other capture paths),
and the CPU per span; beside the proxy's event writer (the goal's yardstick) and the ingest API, for the same
number of calls in the same run.

    .venv/bin/python benchmarks/otlp_ingest.py [--spans 100000] [--batch 512] [--rounds 1] [--postgres postgresql://...]

Spans are made by the OpenTelemetry SDK and encoded by its OTLP exporter's encoder, 512 a request (the SDK's
default batch), one second long and ending 50 µs apart (20,000 calls a second). Every path is called in process,
without HTTP, so the figures compare the work each does per item; the OTLP receiver is measured both ways, storing
through its helper process (the default) and in one process. The garbage collector is tuned first, as `serve` and
`proxy` tune theirs (capture.collector). Goal: at least 20,000 spans/s stored.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median

from sqlalchemy import Engine, func, select

from creditgauge.capture.collector import tune_garbage_collector
from creditgauge.capture.otlp_receiver import TRACES, OtlpReceiver
from creditgauge.config import parse_config
from creditgauge.store import schema
from creditgauge.store.engine import open_engine
from creditgauge.web.ingest import ingest

GOAL_SPANS_PER_SECOND = 20_000
OTLP_CHILD = "OTLP /v1/traces (store process, the default)"
OTLP_ONE = "OTLP /v1/traces (one process)"
MODELS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4-5")]
BASE_NS = time.time_ns() - 3600 * 10**9


def span_requests(count: int, batch: int) -> list[bytes]:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench", "deployment.environment": "prod"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for i in range(count):
        provider_name, model = MODELS[i % len(MODELS)]
        end = BASE_NS + i * 50_000
        span = tracer.start_span(f"chat {model}", start_time=end - 10**9, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider_name, "gen_ai.request.model": model,
            "gen_ai.response.model": model, "gen_ai.response.id": f"resp-{i}",
            "gen_ai.usage.input_tokens": 1000 + i % 900,
            "gen_ai.usage.cache_read.input_tokens": i % 500, "gen_ai.usage.output_tokens": 200 + i % 300,
            "server.address": "api.openai.com" if provider_name == "openai" else "api.anthropic.com"})
        span.end(end_time=end)
    spans = memory.get_finished_spans()
    return [encode_spans(spans[offset:offset + batch]).SerializeToString() for offset in range(0, count, batch)]


def ingest_bodies(count: int, batch: int) -> list[bytes]:
    bodies = []
    for offset in range(0, count, batch):
        events = []
        for i in range(offset, min(count, offset + batch)):
            provider_name, model = MODELS[i % len(MODELS)]
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((BASE_NS + i * 50_000) // 10**9)) + "Z"
            events.append({"id": f"ing-{i}", "account": f"{provider_name}-main", "ts": ts, "model": model,
                           "endpoint": "chat", "input_tokens": 1000 + i % 900, "cached_input_tokens": i % 500,
                           "output_tokens": 200 + i % 300, "request_id": f"resp-{i}",
                           "tags": {"service.name": "bench"}})
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(schema.usage_events)).scalar() or 0


def child_cpu(receiver: OtlpReceiver) -> float:
    """CPU seconds the receiver's store process has used so far (0 without one), from /proc."""
    process = getattr(receiver._child, "_child", None)  # a look inside, for the benchmark
    if process is None:
        return 0.0
    fields = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure_otlp(url: str, requests: list[bytes], spans: int, journal: str,
                 in_child: bool) -> tuple[float, float, str]:
    """(spans/s accepted, spans/s stored, CPU µs per span: the receiving process's, plus the store process's when
    `in_child`). The first request warms the path (and starts the store process) before the clock."""
    config = parse_config({"database_url": url, "proxy": {"journal_dir": journal},
                           "accounts": {"openai-main": {"provider": "openai"},
                                        "anthropic-main": {"provider": "anthropic"}}}, None)
    engine = open_engine(url)
    receiver = OtlpReceiver(config, engine, store_in_child=in_child)
    assert receiver.export(TRACES, requests[0], "application/x-protobuf", None).status == 200
    assert receiver.recorder.writer.flush(600)
    measured = spans - stored(engine)
    child, cpu, started = child_cpu(receiver), time.process_time(), time.perf_counter()
    for body in requests[1:]:
        answer = receiver.export(TRACES, body, "application/x-protobuf", None)
        assert answer.status == 200, answer.body
    accepted = time.perf_counter() - started
    assert receiver.recorder.writer.flush(600), "the writer did not finish"
    done, cpu, child = time.perf_counter() - started, time.process_time() - cpu, child_cpu(receiver) - child
    receiver.close()
    count = stored(engine)
    engine.dispose()
    assert count == spans, f"{count} stored of {spans}"
    shown = f"{cpu / measured * 1e6:.1f} + {child / measured * 1e6:.1f} µs" if in_child \
        else f"{cpu / measured * 1e6:.1f} µs"
    return measured / accepted, measured / done, shown


def measure_ingest(url: str, bodies: list[bytes], events: int) -> tuple[float, float]:
    """(events/s accepted and stored: the ingest API commits before it answers, CPU µs per event)."""
    config = parse_config({"database_url": url, "accounts": {"openai-main": {"provider": "openai"},
                                                             "anthropic-main": {"provider": "anthropic"}}}, None)
    engine = open_engine(url)
    cpu, started = time.process_time(), time.perf_counter()
    for body in bodies:
        status, answer = ingest(config, engine, body)
        assert status == 200, answer
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    count = stored(engine)
    engine.dispose()
    assert count == events, f"{count} stored of {events}"
    return events / elapsed, cpu / events * 1e6


def measure_event_writer(url: str, events: int) -> tuple[float, float]:
    """The proxy's event writer on the same machine in the same run (what the goal compares with): events priced
    beforehand, then `submit` one at a time (journal, queue) and committed in batches of 500, as the proxy does.
    (events/s stored, CPU µs per event)."""
    from ingest import make_events  # benchmarks/ingest.py: the proxy-like events its writer figure uses

    from creditgauge.capture.journal import Journal
    from creditgauge.capture.writer import EventWriter
    from creditgauge.pricing import Pricer

    engine = open_engine(url)
    batch = make_events(events, pricer=Pricer())
    with tempfile.TemporaryDirectory(prefix="cg-writer-") as journal_dir:
        writer = EventWriter(engine, Journal(Path(journal_dir)), queue_size=events + 1).start()
        assert writer.flush(60)
        cpu, started = time.process_time(), time.perf_counter()
        for event in batch:
            writer.submit(event)
        assert writer.flush(600), "the writer did not finish"
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        writer.close()
    count = stored(engine)
    engine.dispose()
    assert count == events, f"{count} stored of {events}"
    return events / elapsed, cpu / events * 1e6


@contextmanager
def scratch_database(server: str | None, directory: str) -> Iterator[str]:
    """A SQLite file in `directory`, or a scratch PostgreSQL database on `server`, dropped afterwards."""
    from ingest import drop_postgres, scratch_postgres  # benchmarks/ingest.py: the scratch database helpers

    if server is None:
        yield f"sqlite:///{directory}/otlp.db"
        return
    url, handle = scratch_postgres(server)
    try:
        yield url
    finally:
        drop_postgres(handle)


PATHS = (OTLP_CHILD, OTLP_ONE, "event writer (proxy)", "ingest API")


def measure_path(path: str, server: str | None, requests: list[bytes], bodies: list[bytes],
                 spans: int) -> tuple[float | None, float, str]:
    """(accepted /s, or None where the path commits before it answers; stored /s; CPU per item) of one path on
    a fresh database."""
    with tempfile.TemporaryDirectory(prefix="cg-otlp-") as tmp, scratch_database(server, tmp) as url:
        if path in (OTLP_CHILD, OTLP_ONE):
            return measure_otlp(url, requests, spans, str(Path(tmp) / "j"), in_child=path == OTLP_CHILD)
        rate, per_item = (measure_event_writer(url, spans) if path.startswith("event writer")
                          else measure_ingest(url, bodies, spans))
        return None, rate, f"{per_item:.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every path this many times, interleaved, and show the medians (and each "
                             "round's OTLP/event writer ratio): on a shared machine one run drifts by a fifth")
    parser.add_argument("--postgres", default=os.environ.get("CREDITGAUGE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    requests, bodies = span_requests(args.spans, args.batch), ingest_bodies(args.spans, args.batch)
    tune_garbage_collector()  # as the processes that receive spans do
    print(f"\nOTLP: {args.spans:,} spans in requests of {args.batch} "
          f"({sum(map(len, requests)) / args.spans:.0f} protobuf bytes a span), {os.cpu_count()} cores, "
          f"{args.rounds} round(s), medians\n")
    print("| database | path | accepted /s | stored /s | CPU per item | goal |")
    print("|---|---|---|---|---|---|")
    databases = [("SQLite", None)] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    for label, server in databases:
        runs: dict[str, list[tuple[float | None, float, str]]] = {path: [] for path in PATHS}
        for _ in range(args.rounds):
            for path in PATHS:
                runs[path].append(measure_path(path, server, requests, bodies, args.spans))
        for path in PATHS:
            accepted = [run[0] for run in runs[path] if run[0] is not None]
            shown = f"{median(accepted):,.0f}" if accepted else \
                ("(commits first)" if path == "ingest API" else "(priced before)")
            rate = median(run[1] for run in runs[path])
            cpu = runs[path][len(runs[path]) // 2][2]  # the middle round's
            print(f"| {label} | {path} | {shown} | {rate:,.0f} | {cpu} | > {GOAL_SPANS_PER_SECOND:,} stored/s |")
        ratios = [otlp[1] / writer[1] for otlp, writer in zip(runs[OTLP_CHILD], runs["event writer (proxy)"],
                                                             strict=True)]
        print(f"| {label} | OTLP stored / event writer stored, each round | "
              f"{', '.join(f'{ratio:.2f}' for ratio in ratios)} (median {median(ratios):.2f}) | | | |")
    if not args.postgres:
        print("| PostgreSQL | not measured (no --postgres) | | | | |")


if __name__ == "__main__":
    main()
