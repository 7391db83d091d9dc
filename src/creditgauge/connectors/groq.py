"""Groq (provider-apis §4): no billing, balance or usage API exists for ordinary keys. What an API key can read is
the organization's rate limits, from the `x-ratelimit-*` response headers; spend comes only from tracking.

The contract documents those headers on chat completions. The default probe is the free `GET /openai/v1/models`:
when Groq sends the headers there too they become limit snapshots, and when it does not the task stores nothing
(not an error). `build(..., probe="chat")` probes with a one-token chat completion instead, which always carries
them but spends a few tokens on every sync.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import Connector, EndpointTask
from creditgauge.domain import Capability, Fact, LimitSnapshot, Window, utcnow
from creditgauge.errors import AuthError
from creditgauge.http import RetryPolicy
from creditgauge.providers.record import Provider, StarterAccount

MODELS_PATH = "/openai/v1/models"
CHAT_PATH = "/openai/v1/chat/completions"
ProbeName = Literal["models", "chat"]
# (method, path, body). The chat probe uses the cheapest model Groq serves and asks for one output token.
PROBES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "models": ("GET", MODELS_PATH, None),
    "chat": ("POST", CHAT_PATH, {"model": "llama-3.1-8b-instant", "max_tokens": 1,
                                 "messages": [{"role": "user", "content": "ping"}]}),
}

# (snapshot name, header suffix). Groq's request limit is per DAY, its token limit per MINUTE (contract §4, §7.9).
# The snapshot amounts are counts, not money: their "currency" is the unit counted, "requests" or "tokens".
LIMITS = (("requests_per_day", "requests"), ("tokens_per_minute", "tokens"))

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "h": Decimal(3600), "m": Decimal(60), "s": Decimal(1), "ms": Decimal("0.001"),
    "us": Decimal("0.000001"), "µs": Decimal("0.000001"), "μs": Decimal("0.000001"), "ns": Decimal("1e-9"),
}


def parse_duration(text: str) -> Decimal:
    """Seconds in a Go-style duration as rate-limit reset headers send it: "6m0s", "2m59.56s", "7.66s", "12ms"."""
    value = text.strip()
    if value == "0":
        return Decimal(0)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"{text!r} is not a duration like 2m59.56s")
    return sum((Decimal(number) * _UNIT_SECONDS[unit] for number, unit in parts), Decimal(0))


class GroqConnector(Connector):
    provider = "groq"
    capabilities = frozenset({Capability.LIMITS})
    default_base_url = "https://api.groq.com"
    key_kind = "API key"
    key_help = "https://console.groq.com/keys"
    notes = (
        "Groq has no billing, balance or usage API: its spend comes only from tracking (the recording proxy, "
        "the SDK hook or the ingest API). Sync reads the organization's rate limits (requests per day, tokens "
        "per minute) from x-ratelimit-* headers when Groq sends them."
    )

    probe: ProbeName = "models"

    @classmethod
    def build(
        cls,
        account: AccountConfig,
        key: str | None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        probe: ProbeName = "models",
        **client_options: Any,
    ) -> GroqConnector:
        connector = cast(GroqConnector, super().build(account, key, timeout=timeout, retry=retry, **client_options))
        connector.probe = probe
        return connector

    def tasks(self) -> list[EndpointTask]:
        return [EndpointTask("rate_limits", self.fetch_limits, windowed=False)]

    async def fetch_limits(self, window: Window) -> Sequence[Fact]:
        method, path, body = PROBES[self.probe]
        try:
            response = await self.client.request(method, path, json_body=body)
        except AuthError as exc:
            hint = f"put a Groq {self.key_kind} (gsk_..., {self.key_help}) in {self.key_location()}"
            raise exc.with_hint(hint) from None
        return self.parse_limits(response.headers, f"{method} {path}")

    def parse_limits(self, headers: Mapping[str, str], endpoint: str) -> list[LimitSnapshot]:
        as_of = utcnow()
        snapshots = []
        for name, unit in LIMITS:
            limit = headers.get(f"x-ratelimit-limit-{unit}")
            remaining = headers.get(f"x-ratelimit-remaining-{unit}")
            reset = headers.get(f"x-ratelimit-reset-{unit}")
            if limit is None:
                if remaining is not None or reset is not None:
                    raise self.contract_error(endpoint, f"x-ratelimit-remaining/reset-{unit} came without "
                                                        f"x-ratelimit-limit-{unit}")
                continue
            details: dict[str, Any] = {}
            if remaining is not None:
                details["remaining"] = str(self._count(remaining, f"x-ratelimit-remaining-{unit}", endpoint))
            if reset is not None:
                details.update(self._reset(reset, as_of, f"x-ratelimit-reset-{unit}", endpoint))
            snapshots.append(LimitSnapshot(
                as_of=as_of, name=name, amount=self._count(limit, f"x-ratelimit-limit-{unit}", endpoint),
                currency=unit, details=details,
            ))
        return snapshots

    def _count(self, value: str, header: str, endpoint: str) -> Decimal:
        try:
            count = Decimal(value.strip())
        except InvalidOperation:
            count = Decimal("NaN")
        if not count.is_finite() or count != count.to_integral_value() or count < 0:
            raise self.contract_error(endpoint, f"{header} is {value!r}, not a whole count")
        return count

    def _reset(self, value: str, as_of: datetime, header: str, endpoint: str) -> dict[str, str]:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.contract_error(endpoint, f"{header}: {exc}") from None
        resets_at = as_of + timedelta(microseconds=int(seconds * 1_000_000))
        return {"reset_seconds": str(seconds), "resets_at": resets_at.isoformat()}


PROVIDER = Provider(
    connector=GroqConnector,
    display_name="Groq",
    inference_origin="https://api.groq.com",  # OpenAI-compatible paths start with /openai/v1
    starter=StarterAccount("GROQ_API_KEY", "no billing API: spend comes from the proxy / SDK hook"),
    key_patterns=(r"gsk_[A-Za-z0-9]{8,}",),
)
