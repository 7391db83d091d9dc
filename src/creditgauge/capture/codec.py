"""One UsageEvent as one line of JSON (the journal's record): exact Decimals as strings, times as ISO 8601 UTC."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from creditgauge.domain import UsageEvent, as_utc

_FIELDS = tuple(f.name for f in fields(UsageEvent))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


# One encoder for every record: json.dumps with non-default options builds a new encoder on each call.
_ENCODER = json.JSONEncoder(default=_default, separators=(",", ":"), ensure_ascii=True)


def encode_event(event: UsageEvent) -> bytes:
    data = {name: getattr(event, name) for name in _FIELDS}
    data["ts"] = as_utc(event.ts).isoformat()  # converted here rather than in `default`: this is the hot path
    if event.cost is not None:
        data["cost"] = str(event.cost)
    return _ENCODER.encode(data).encode()


def decode_event(line: bytes) -> UsageEvent:
    data = json.loads(line)
    data["ts"] = as_utc(datetime.fromisoformat(data["ts"]))
    if data.get("cost") is not None:
        data["cost"] = Decimal(data["cost"])
    return UsageEvent(**{name: data[name] for name in _FIELDS if name in data})
