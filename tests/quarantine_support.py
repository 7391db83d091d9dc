"""Putting items in quarantine the way the capture paths do (store_checked), one of them carrying a planted key,
for the tests that show where quarantined items are visible."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from creditgauge.domain import UsageEvent
from creditgauge.store import schema
from creditgauge.store.events import store_checked

PLANTED_KEY = "sk-proj-PLANTEDquarantineKEY0123456789abcdef"
TS = datetime(2026, 3, 18, 9, tzinfo=UTC)


def poison(engine: Engine, *numbers: int, account: str = "oa") -> int:
    """Quarantine one over-the-limit event per number (the first with a key planted in its model, tags and
    request id); returns how many were quarantined."""
    events = [UsageEvent(id=f"poison-{n}", account=account, provider="openai", ts=TS,
                         model=f"gpt-4o {PLANTED_KEY}" if n == numbers[0] else "gpt-4o", endpoint="chat.completions",
                         source="proxy", input_tokens=10**30, output_tokens=2,
                         tags={"auth": f"Bearer {PLANTED_KEY}"}, request_id=PLANTED_KEY[:40])
              for n in numbers]
    return store_checked(engine, events).quarantined


def stored_text(engine: Engine) -> str:
    """Every quarantine row as text, to grep for a key."""
    with engine.connect() as connection:
        return "\n".join(str(tuple(row)) for row in connection.execute(select(schema.quarantine)))
