"""Wrong tokens, rate-limited per client: a few at once, then one every few seconds, answered 429 with Retry-After.

Each client (its address) has a budget of `burst` wrong credentials that refills by one every `refill`; while it is
spent, that client's credentials are not even compared, so guessing runs at the refill rate and not faster. A right
token costs nothing, and other clients are not affected. The table is bounded: clients whose budget is whole again
are forgotten first, then the longest quiet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(slots=True)
class _Spent:
    level: float  # wrong credentials not yet refilled
    at: datetime


class FailureBudget:
    def __init__(self, *, burst: int = 10, refill: timedelta = timedelta(seconds=6),
                 max_clients: int = 10_000) -> None:
        self.burst = burst
        self.refill = refill
        self.max_clients = max_clients
        self._clients: dict[str, _Spent] = {}

    def __len__(self) -> int:
        return len(self._clients)

    def _level(self, client: str, now: datetime) -> float:
        spent = self._clients.get(client)
        if spent is None:
            return 0.0
        return max(0.0, spent.level - (now - spent.at) / self.refill)

    def retry_after(self, client: str, now: datetime) -> int | None:
        """Seconds until `client` may try a credential again, or None when it may now."""
        excess = self._level(client, now) - (self.burst - 1)
        if excess <= 0:
            return None
        return max(1, math.ceil(excess * self.refill.total_seconds()))

    def failed(self, client: str, now: datetime) -> None:
        level = self._level(client, now) + 1
        self._clients.pop(client, None)  # re-inserted last: the dict's order is the order of last failure
        self._clients[client] = _Spent(level, now)
        if len(self._clients) > self.max_clients:
            self._forget(now)

    def _forget(self, now: datetime) -> None:
        for client in [client for client in self._clients if self._level(client, now) == 0]:
            del self._clients[client]
        while len(self._clients) > self.max_clients:
            del self._clients[next(iter(self._clients))]
