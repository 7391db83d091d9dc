"""A deterministic usage history for fakes and the demo: daily token counts per project and model, with a weekly
rhythm (quiet weekends), a slow upward trend and noise. Provider-neutral: each fake turns it into its own shapes.

Every (day, project, model) is drawn from its own seeded generator, so a day's numbers do not depend on how many
days were asked for: a 30-day and a 180-day history agree on the days they share.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

# Relative activity Monday..Sunday: teams work on weekdays, batch jobs keep weekends from being empty.
WEEKLY_RHYTHM = (1.00, 1.08, 1.12, 1.06, 0.94, 0.42, 0.35)


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """One project's use of one model on one UTC day, in the token convention of DESIGN.md."""

    day: date
    project: str
    model: str
    input_tokens: int  # every input token, cached and cache-write ones included
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int  # reasoning tokens included
    reasoning_tokens: int
    requests: int

    def scaled(self, factor: Decimal) -> DailyUsage:
        """The same row with every count multiplied by `factor` (a provider revising a day), parts kept consistent."""

        def scale(value: int) -> int:
            return int((Decimal(value) * factor).to_integral_value(rounding=ROUND_HALF_EVEN))

        input_tokens = scale(self.input_tokens)
        cached = min(scale(self.cached_input_tokens), input_tokens)
        output_tokens = scale(self.output_tokens)
        return replace(
            self,
            input_tokens=input_tokens,
            cached_input_tokens=cached,
            cache_write_tokens=min(scale(self.cache_write_tokens), input_tokens - cached),
            output_tokens=output_tokens,
            reasoning_tokens=min(scale(self.reasoning_tokens), output_tokens),
            requests=scale(self.requests),
        )


def activity(day: date, seed: int = 0) -> float:
    """How busy a day is: the weekly rhythm times a trend of about +0.2% a day, with a little day-to-day noise."""
    noise = random.Random(f"{seed}:day:{day.isoformat()}").uniform(0.85, 1.15)
    trend = 1.0 + 0.002 * (day.toordinal() % 365)
    return WEEKLY_RHYTHM[day.weekday()] * trend * noise


def _weight(seed: int, *names: str) -> float:
    """A stable size for a project or model; about one pair in six never happens at all."""
    rng = random.Random(f"{seed}:weight:{':'.join(names)}")
    return 0.0 if len(names) > 1 and rng.random() < 0.17 else rng.uniform(0.2, 1.0)


def usage_for(day: date, project: str, model: str, *, seed: int = 0, scale: int = 400_000) -> DailyUsage | None:
    """The history row of one project and model on one day, or None when that pair was idle that day."""
    weight = _weight(seed, project) * _weight(seed, model) * _weight(seed, project, model)
    rng = random.Random(f"{seed}:{day.isoformat()}:{project}:{model}")
    if weight == 0.0 or rng.random() < 0.12:
        return None
    input_tokens = max(1, int(scale * weight * activity(day, seed) * rng.uniform(0.6, 1.4)))
    cached = int(input_tokens * rng.uniform(0.0, 0.6))
    cache_write = int((input_tokens - cached) * rng.uniform(0.0, 0.05))
    output_tokens = max(1, int(input_tokens * rng.uniform(0.05, 0.3)))
    reasoning = int(output_tokens * rng.uniform(0.0, 0.5)) if rng.random() < 0.3 else 0
    requests = max(1, input_tokens // rng.randint(800, 4000))
    return DailyUsage(day, project, model, input_tokens, cached, cache_write, output_tokens, reasoning, requests)


def generate_history(
    *,
    days: int,
    end: date,
    projects: Sequence[str],
    models: Sequence[str],
    seed: int = 0,
    scale: int = 400_000,
) -> list[DailyUsage]:
    """Rows for the `days` days ending with `end` (inclusive), ordered by day, project, model."""
    first = end - timedelta(days=days - 1)
    rows: list[DailyUsage] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        for project in projects:
            for model in models:
                row = usage_for(day, project, model, seed=seed, scale=scale)
                if row is not None:
                    rows.append(row)
    return rows


__all__ = ["WEEKLY_RHYTHM", "DailyUsage", "activity", "generate_history", "usage_for"]
