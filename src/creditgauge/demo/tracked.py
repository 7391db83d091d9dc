"""Tracked history: what a recording proxy in front of the demo's OpenAI, DeepSeek and Groq accounts would have
recorded over the whole history. Events go through the real capture path (the Recorder prices each one with
pricing.Pricer, the journal and the batch writer store it), like the proxy's own.

OpenAI's events are cut from the fake's own usage rows, every key but the leaked one, and priced with overrides
equal to the fake's list prices, so tracked and reported spend agree day by day except on the leak's day.
DeepSeek and Groq report no spend: what is tracked is all there is (DeepSeek's in CNY).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from creditgauge.capture.recorder import Recorder
from creditgauge.demo.scenario import (
    ACCOUNTS,
    DEEPSEEK_PRICES_CNY,
    DEEPSEEK_PROJECTS,
    GROQ_MODELS,
    GROQ_PROJECTS,
    INFERENCE_KEY,
    TEAMS,
    Scenario,
)
from creditgauge.domain import UsageEvent, day_start
from creditgauge.fakes.history import DailyUsage, generate_history
from creditgauge.fakes.openai import FakeOpenAI
from creditgauge.ids import ulid_at
from creditgauge.redact import fingerprint

EVENTS_PER_ROW = 6  # a day's use of one model by one project arrives as this many events (fewer if fewer requests)
DAY_SECONDS = 86_400
DEEPSEEK_SCALE = 4_000_000  # about CNY 6 a day
GROQ_SCALE = 2_000_000  # well under a dollar a day
ENDPOINT = {"completions": "chat.completions", "embeddings": "embeddings"}


def _split(total: int, parts: int) -> list[int]:
    """`total` in `parts` near-equal whole pieces that add up to it exactly."""
    return [total * (i + 1) // parts - total * i // parts for i in range(parts)]


def _moments(day: date, count: int, rng: random.Random, now: datetime) -> list[datetime]:
    """`count` times on `day`, most in the UTC working day; on today, all of them before `now`."""
    start = day_start(day)
    span = min(DAY_SECONDS, max(1, int((now - start).total_seconds())))
    offsets = sorted(rng.triangular(6 * 3600, 22 * 3600, 14 * 3600) for _ in range(count))
    return [start + timedelta(seconds=int(offset * span / DAY_SECONDS)) for offset in offsets]


def _event_id(ts: datetime, rng: random.Random) -> str:
    """A ULID of the event's time, its random part drawn from the row's seeded generator (reproducible demos)."""
    return ulid_at(int(ts.timestamp() * 1000), rng.getrandbits(80))


def events_for(usage: DailyUsage, *, account: str, provider: str, endpoint: str, key_fingerprint: str,
               now: datetime) -> list[UsageEvent]:
    """One day of a project's use of a model as proxy events whose counts add up exactly to the row's."""
    parts = max(1, min(EVENTS_PER_ROW, usage.requests))
    rng = random.Random(f"{account}:{usage.day}:{usage.project}:{usage.model}:{endpoint}")
    cached, written = _split(usage.cached_input_tokens, parts), _split(usage.cache_write_tokens, parts)
    uncached = _split(usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens, parts)
    reasoning = _split(usage.reasoning_tokens, parts)
    answer = _split(usage.output_tokens - usage.reasoning_tokens, parts)
    requests = _split(usage.requests, parts)
    return [
        UsageEvent(
            id=_event_id(ts, rng), account=account, provider=provider, ts=ts, model=usage.model,
            endpoint=endpoint, source="proxy", input_tokens=uncached[i] + cached[i] + written[i],
            cached_input_tokens=cached[i], cache_write_tokens=written[i], output_tokens=answer[i] + reasoning[i],
            reasoning_tokens=reasoning[i], requests=requests[i], key_fingerprint=key_fingerprint,
            tags={"project": usage.project, "team": TEAMS.get(usage.project, "other")}, status_code=200,
            latency_ms=rng.randint(250, 4000),
        )
        for i, ts in enumerate(_moments(usage.day, parts, rng, now))
    ]


def openai_events(fake: FakeOpenAI, now: datetime) -> Iterator[UsageEvent]:
    """The fake's completions and embeddings, as the proxy saw them: the leaked key's traffic never passed it."""
    leaked = fake.leaked_key
    day = fake.first
    while day <= min(fake.end, now.date()):
        for endpoint, name in ENDPOINT.items():
            for row in fake.rows(endpoint, day):
                key_id = row.dims["api_key_id"]
                if leaked is not None and key_id == leaked.id:
                    continue
                m = row.measures
                usage = DailyUsage(day, row.dims["project_id"], row.dims["model"], m["input_tokens"],
                                   m.get("input_cached_tokens", 0), m.get("input_cache_write_tokens", 0),
                                   m.get("output_tokens", 0), 0, m["num_model_requests"])
                yield from events_for(usage, account="openai", provider="openai", endpoint=name,
                                      key_fingerprint=fingerprint(f"demo-key:{key_id}"), now=now)
        day += timedelta(days=1)


def generated_events(scenario: Scenario, now: datetime, *, account: str, projects: tuple[str, ...],
                     models: tuple[str, ...], seed: int, scale: int) -> Iterator[UsageEvent]:
    for usage in generate_history(days=scenario.days, end=scenario.today, projects=projects, models=models,
                                  seed=seed, scale=scale):
        yield from events_for(usage, account=account, provider=account, endpoint="chat.completions",
                              key_fingerprint=fingerprint(f"demo-key:{account}:{usage.project}"), now=now)


def tracked_key_links(fake: FakeOpenAI) -> dict[str, dict[str, str]]:
    """What the demo's config says of the fingerprints its tracking recorded (`tracked_keys`): each OpenAI
    fingerprint is the listed key it came from; DeepSeek's and Groq's name a key per project (those providers list
    none); the live traffic's key has a name of its own. The leaked key never passed tracking: it has none."""
    live = {fingerprint(INFERENCE_KEY): "demo-live-traffic"}
    openai = {fingerprint(f"demo-key:{key.id}"): key.id for project in fake.projects for key in project.keys}
    return {
        "openai": {**openai, **live},
        "deepseek": {fingerprint(f"demo-key:deepseek:{p}"): f"{p}-key" for p in DEEPSEEK_PROJECTS},
        "groq": {**{fingerprint(f"demo-key:groq:{p}"): f"{p}-key" for p in GROQ_PROJECTS},
                 fingerprint(next(a.key for a in ACCOUNTS if a.name == "groq")): "demo-live-traffic"},
    }


def record_history(recorder: Recorder, fake: FakeOpenAI, scenario: Scenario, now: datetime) -> int:
    """Record every tracked event of the history; returns how many (the writer stores them in the background)."""
    streams = (
        openai_events(fake, now),
        generated_events(scenario, now, account="deepseek", projects=DEEPSEEK_PROJECTS,
                         models=tuple(DEEPSEEK_PRICES_CNY), seed=11, scale=DEEPSEEK_SCALE),
        generated_events(scenario, now, account="groq", projects=GROQ_PROJECTS, models=GROQ_MODELS, seed=12,
                         scale=GROQ_SCALE),
    )
    count = 0
    for stream in streams:
        for event in stream:
            recorder.record(event)
            count += 1
    return count


__all__ = ["events_for", "openai_events", "record_history", "tracked_key_links"]
