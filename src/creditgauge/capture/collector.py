"""The cyclic garbage collector's settings for the long-running processes creditgauge owns (the proxy, `serve`
with its OTLP receiver, the helper store process), never for an application that imports creditgauge."""

from __future__ import annotations

import gc


def tune_garbage_collector() -> None:
    """What was loaded at start (SQLAlchemy, pydantic, the price catalogue: about 150,000 objects) is frozen out of
    the cyclic collector, whose full passes over it took about 110 ms each under load (the proxy's p99 tail, and
    CPU); and the youngest generation is collected every 10,000 net new objects instead of 700, since a request's
    or a batch's objects are freed by reference counting, not by the collector. Measured: 630 collections in
    24,000 proxy requests fall to 3; reading 60,000 OTLP spans, 286 fall to 20 (about 6,600 fewer instructions a
    span under callgrind, a few per cent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
