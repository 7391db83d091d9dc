"""How fast `POST /api/v1/events` validates, prices and stores a batch: events per second through the endpoint
(in process, through the ASGI stack, no network), into a scratch SQLite database.

    .venv/bin/python benchmarks/ingest_api.py [--batches 20] [--batch-size 1000] [--rounds 5]

Each round posts fresh batches (new ids) to a fresh database; the median round is printed. The validation that
keeps poison values out (ranges, NUL, Unicode, one id once per batch) is in this path, so this is the figure to
compare before and after a change to it: run it on both versions, on the same machine, one after the other.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from creditgauge.config import parse_config
from creditgauge.store.engine import open_engine
from creditgauge.web.ingest import create_ingest_app

CONFIG = parse_config({"accounts": {"openai-main": {"provider": "openai"}, "or-main": {"provider": "openrouter"}}},
                      None)


def batch_body(round_no: int, batch_no: int, size: int) -> bytes:
    start = datetime.now(UTC) - timedelta(hours=1)
    events = []
    for n in range(size):
        event = {"id": f"r{round_no}-b{batch_no}-{n}", "account": "openai-main",
                 "ts": (start + timedelta(milliseconds=n)).isoformat(), "model": "gpt-4o-mini",
                 "input_tokens": 1200 + n % 50, "cached_input_tokens": 1000, "output_tokens": 300,
                 "tags": {"team": f"team-{n % 7}"}, "request_id": f"req-{n}"}
        if n % 10 == 0:
            event.update(account="or-main", model="openai/gpt-4o", cost="0.0123")
        events.append(event)
    return json.dumps({"events": events}).encode()


def one_round(round_no: int, batches: int, size: int) -> float:
    with tempfile.TemporaryDirectory(prefix="cg-ingest-api-") as tmp:
        engine = open_engine(f"sqlite:///{Path(tmp) / 'ingest.db'}")
        bodies = [batch_body(round_no, b, size) for b in range(batches)]
        with TestClient(create_ingest_app(CONFIG, engine)) as client:
            started = time.perf_counter()
            for body in bodies:
                answer = client.post("/api/v1/events", content=body, headers={"content-type": "application/json"})
                assert answer.status_code == 200, answer.text[:300]
            elapsed = time.perf_counter() - started
        engine.dispose()
    return batches * size / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rates = [one_round(r, args.batches, args.batch_size) for r in range(args.rounds)]
    print(f"ingest API: {args.batches} batches of {args.batch_size} events, {args.rounds} rounds")
    print(f"  median {statistics.median(rates):,.0f} events/s   (min {min(rates):,.0f}, max {max(rates):,.0f})")


if __name__ == "__main__":
    main()
