"""One UsageEvent as one line of JSON (the journal's record): exact Decimals as strings, times as ISO 8601 UTC.

Encoding runs on the proxy's request path for every event, so it uses orjson (about 2 µs an event against 8 µs
for the standard library's encoder); times that are not in UTC and the rare values orjson refuses (integers beyond
64 bits in `extra`, say) take the standard encoder. Decoding happens only on replay and uses the standard
library, which keeps big integers exact where orjson would turn them into floats.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from creditgauge.domain import UsageEvent, as_utc

_FIELDS = tuple(f.name for f in fields(UsageEvent))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


# One encoder for every record: json.dumps with non-default options builds a new encoder on each call.
_FALLBACK = json.JSONEncoder(default=_default, separators=(",", ":"), ensure_ascii=True)


def encode_event(event: UsageEvent) -> bytes:
    if event.ts.tzinfo is UTC:  # the common case, made by utcnow(): orjson writes the dataclass as it is
        try:
            return orjson.dumps(event, default=_default)
        except TypeError:
            pass
    data = {name: getattr(event, name) for name in _FIELDS}
    data["ts"] = as_utc(event.ts).isoformat()
    if event.cost is not None:
        data["cost"] = str(event.cost)
    return _FALLBACK.encode(data).encode()


def decode_event(line: bytes) -> UsageEvent:
    data = json.loads(line)
    data["ts"] = as_utc(datetime.fromisoformat(data["ts"]))
    if data.get("cost") is not None:
        data["cost"] = Decimal(data["cost"])
    return UsageEvent(**{name: data[name] for name in _FIELDS if name in data})
