"""Price a tracked usage event: the provider's own reported cost wins, then a per-account override from the config,
then genai-prices. A model nobody can price stays unpriced (cost None), never $0.

Tool calls billed on top of tokens (`extra["tool_calls"]`: web_search, file_search, code_interpreter containers,
image_generation, code_execution) are priced per call from `[accounts.X.fees]`, else from the catalogue where it
has the price (web searches, file searches), and kept as line items beside "tokens" (`extra["line_items"]`). A
call whose fee nobody can price leaves the whole event unpriced. The price variant in force follows the request:
service tier (flex, priority), batch processing, Anthropic's fast speed.

genai-prices takes about 70 µs a call; events arrive by the thousand per second, so the price card of a
(provider, model, service tier, minute) is resolved once and evaluated here with plain Decimal arithmetic
(a few µs). The evaluation mirrors genai-prices' own rules (cache reads and writes are parts of input_tokens,
the long-context tier is chosen by total input tokens and applies to every token); a test checks both agree for
every model of every supported provider. Price cards with units this evaluator does not know fall back to
genai-prices' own calculation on the cached model price, so they stay right, only slower.

Known stale entries in genai-prices 0.2.3 (checked against the providers' published prices; tests/test_pricing.py
pins what the catalogue says today, `[accounts.X.prices."model"]` overrides fix flat prices):
- DeepSeek `deepseek-chat` / `deepseek-reasoner` still carry the pre-September-2025 prices with the night discount
  ($0.27/$1.10 and $0.55/$2.19 per million, half off 16:30-00:30 UTC). DeepSeek's pricing page lists, from
  2025-09-05 16:00 UTC, $0.56 input (cache miss), $0.07 (cache hit), $1.68 output with no night discount, and since
  April 2026 both names map to DeepSeek-V4-Flash ($0.14 / $0.0028 / $0.28).
- `claude-sonnet-4-0` has no long-context tier, although Anthropic bills prompts above 200K tokens on Sonnet 4 at
  $6 input / $22.50 output per million (the tier exists for claude-sonnet-4-5). Overrides are flat prices and
  cannot express a tier: such requests are under-priced until the catalogue is fixed and `reprice` runs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import genai_prices
from genai_prices import Usage
from genai_prices import types as gp

from creditgauge.config import AccountConfig, Config, PriceOverride
from creditgauge.domain import ZERO, UsageEvent
from creditgauge.providers.registry import catalog_id

PRICES_VERSION = genai_prices.__version__
SOURCE_PROVIDER = "provider"
SOURCE_OVERRIDE = "override"
SOURCE_CATALOG = "genai-prices"

MILLION = Decimal(1_000_000)
_CACHE_LIMIT = 20_000

Rate = Decimal | gp.TieredPrices
Context = tuple[tuple[str, str], ...]  # genai-prices' price context, hashable: (("service_tier", "flex"), ...)


def _rate(value: Rate | None, total_input: int) -> Decimal:
    """The per-million price that applies: a tier applies to every token once total input passes its start."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    for tier in reversed(value.tiers):
        if total_input > tier.start:
            return tier.price
    return value.base


# price keys the fast evaluator computes, and keys whose usage a text request never reports (so they add 0 and
# change no other unit's share). Any other key sends the card to genai-prices' own calculation.
_FAST_KEYS = frozenset({
    "input_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok", "output_mtok",
    "output_reasoning_mtok", "requests_kcount", "web_searches_kcount",
})
_ZERO_KEYS = frozenset({
    "input_audio_mtok", "cache_audio_read_mtok", "output_audio_mtok", "input_image_mtok", "cache_image_read_mtok",
    "output_image_mtok", "input_video_mtok", "output_video_mtok", "storage_searches_kcount", "audio_hours",
    "input_audio_hours", "input_mchars", "input_text_messages_kcount",
})


@dataclass(frozen=True, slots=True)
class Counts:
    """Token counts in the project's convention (cached and cache-write tokens are parts of input)."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    web_searches: int = 0

    @classmethod
    def of(cls, event: UsageEvent, calls: dict[str, int] | None = None) -> Counts:
        """`calls`: the event's tool_calls when the caller has them already."""
        extra = event.extra
        calls = tool_calls(event) if calls is None else calls
        return cls(event.input_tokens, event.cached_input_tokens, event.cache_write_tokens,
                   int(extra.get("cache_write_1h_tokens") or 0) if extra else 0,
                   event.output_tokens, event.reasoning_tokens, calls.get("web_search", 0))

    def catalog_usage(self, *, with_fees: bool = True) -> Usage:
        return Usage(
            input_tokens=self.input_tokens,
            cache_read_tokens=self.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
            output_tokens=self.output_tokens,
            output_reasoning_tokens=self.reasoning_tokens,
            web_searches=self.web_searches if with_fees else 0,
        )


def tool_calls(event: UsageEvent) -> dict[str, int]:
    """The billed tool calls of an event by fee name (events stored before fees had names kept Anthropic's web
    searches as `web_search_requests`)."""
    extra = event.extra
    if not extra or ("tool_calls" not in extra and "web_search_requests" not in extra):
        return {}  # nearly every event: no comprehension on the request path
    calls = {str(k): int(v) for k, v in (extra.get("tool_calls") or {}).items() if int(v) > 0}
    legacy = int(extra.get("web_search_requests") or 0)
    if legacy and "web_search" not in calls:
        calls["web_search"] = legacy
    return calls


def _per_call(per_thousand: Rate | None) -> Decimal | None:
    """A price per call; tiers follow input tokens, so a tiered one is its base price."""
    return None if per_thousand is None else _rate(per_thousand, 0) / 1000


def catalog_fees(price: gp.ModelPrice) -> dict[str, Decimal]:
    """Per-call fees the catalogue knows for a model (genai-prices prices searches per thousand)."""
    units = {"web_search": _per_call(price.web_searches_kcount),
             "file_search": _per_call(price.storage_searches_kcount)}
    return {name: unit for name, unit in units.items() if unit is not None}


class FastCard:
    """A genai-prices ModelPrice evaluated directly (same leaf rules as genai_prices.types.ModelPrice.calc_price).
    Rates are resolved once for a flat card, per call only when a long-context tier may apply."""

    __slots__ = ("fees", "flat", "per_request", "prices")

    def __init__(self, price: gp.ModelPrice) -> None:
        self.prices: tuple[Rate | None, ...] = (
            price.input_mtok, price.cache_read_mtok, price.cache_write_mtok, price.cache_write_1h_mtok,
            price.output_mtok, price.output_reasoning_mtok)
        tiered = any(isinstance(p, gp.TieredPrices) for p in self.prices)
        self.flat = None if tiered else tuple(None if p is None else _rate(p, 0) for p in self.prices)
        self.per_request = _rate(price.requests_kcount, 0) / 1000
        self.fees = catalog_fees(price)

    def cost(self, c: Counts) -> Decimal:
        """The tokens' cost (and any per-request price); tool calls are priced apart, as their own lines."""
        total_in = c.input_tokens
        inp, read, write, write_1h, out, reasoning = self.flat or tuple(
            None if p is None else _rate(p, total_in) for p in self.prices)
        uncached = total_in
        tokens = ZERO
        if read is not None:
            uncached -= c.cached_input_tokens
            tokens += c.cached_input_tokens * read
        if write is not None or write_1h is not None:
            writes_1h = c.cache_write_1h_tokens if write_1h is not None else 0
            if write is not None:
                uncached -= c.cache_write_tokens
                tokens += (c.cache_write_tokens - writes_1h) * write
            else:
                uncached -= writes_1h
            if writes_1h and write_1h is not None:
                tokens += writes_1h * write_1h
        output = c.output_tokens
        if reasoning is not None:
            output -= c.reasoning_tokens
            tokens += c.reasoning_tokens * reasoning
        if uncached < 0 or output < 0:
            raise ValueError("cached or reasoning tokens exceed their total")
        if inp is not None:
            tokens += uncached * inp
        if out is not None:
            tokens += output * out
        return tokens / MILLION + self.per_request


class CatalogCard:
    """Units the fast evaluator does not know: genai-prices computes, on the model price already looked up."""

    __slots__ = ("fees", "price")

    def __init__(self, price: gp.ModelPrice) -> None:
        self.price = price
        self.fees = catalog_fees(price)

    def cost(self, c: Counts) -> Decimal:
        return self.price.calc_price(c.catalog_usage(with_fees=False))["total_price"]


class OverrideCard:
    """A config override: unset cache prices fall back to the input price, other unset prices are 0."""

    __slots__ = ("cache_write", "cached_input", "fees", "input", "output", "per_request")

    def __init__(self, override: PriceOverride) -> None:
        self.input = override.input or ZERO
        self.cached_input = self.input if override.cached_input is None else override.cached_input
        self.cache_write = self.input if override.cache_write is None else override.cache_write
        self.output = override.output or ZERO
        self.per_request = override.per_request or ZERO
        self.fees: dict[str, Decimal] = {}  # an override prices tokens; fees come from [accounts.X.fees]

    def cost(self, c: Counts) -> Decimal:
        uncached = c.input_tokens - c.cached_input_tokens - c.cache_write_tokens
        if uncached < 0:
            raise ValueError("cached tokens exceed input tokens")
        tokens = (uncached * self.input + c.cached_input_tokens * self.cached_input
                  + c.cache_write_tokens * self.cache_write + c.output_tokens * self.output)
        return tokens / MILLION + self.per_request


Card = FastCard | CatalogCard


def catalog_card(price: gp.ModelPrice) -> Card:
    keys = {k for k, v in price.__dict__.items() if v is not None and not k.startswith("_")}
    return FastCard(price) if keys <= _FAST_KEYS | _ZERO_KEYS else CatalogCard(price)


TOKENS_LINE = "tokens"


@dataclass(frozen=True, slots=True)
class Price:
    cost: Decimal | None
    currency: str
    source: str | None
    version: str | None
    lines: dict[str, Decimal] | None = None  # cost by line item, when tool calls add fees to the tokens


UNPRICED = Price(None, "USD", None, None)
_MISSING = object()


class Pricer:
    """Prices events. `overrides` maps account -> model (exact name or a glob like "ft:gpt-4o*") -> override."""

    def __init__(self, overrides: Mapping[str, Mapping[str, PriceOverride]] | None = None,
                 currencies: Mapping[str, str] | None = None,
                 fees: Mapping[str, Mapping[str, Decimal]] | None = None) -> None:
        self._overrides = {account: dict(models) for account, models in (overrides or {}).items() if models}
        self._currencies = dict(currencies or {})
        self._fees = {account: dict(prices) for account, prices in (fees or {}).items() if prices}
        self._cards: dict[tuple[str, str, Context, int], Card | None] = {}
        self._models: dict[tuple[str, str], gp.ModelInfo | None] = {}
        self._override_cards: dict[tuple[str, str], OverrideCard | None] = {}

    @classmethod
    def from_config(cls, config: Config) -> Pricer:
        return cls({name: account.prices for name, account in config.accounts.items()},
                   {name: _account_currency(account) for name, account in config.accounts.items()},
                   {name: {fee: price for fee, price in account.fees.items() if price is not None}
                    for name, account in config.accounts.items()})

    def price(self, event: UsageEvent, *, provider_cost: Decimal | None = None) -> Price:
        """The price of one event; `provider_cost` is what the provider reported for it (it wins)."""
        if provider_cost is not None:
            return Price(provider_cost, "USD", SOURCE_PROVIDER, None)
        if event.model is None:
            return UNPRICED
        calls = tool_calls(event)
        counts = Counts.of(event, calls)
        override = self._override(event.account, event.model)
        if override is not None:
            currency = self._currencies.get(event.account, "USD")
            return self._evaluate(override, counts, calls, event.account, currency, SOURCE_OVERRIDE, None)
        card = self._catalog(event.provider, event.model, price_context(event), event.ts)
        if card is None:
            return UNPRICED
        return self._evaluate(card, counts, calls, event.account, "USD", SOURCE_CATALOG, PRICES_VERSION)

    def apply(self, event: UsageEvent, *, provider_cost: Decimal | None = None) -> UsageEvent:
        price = self.price(event, provider_cost=provider_cost)
        event.cost, event.currency = price.cost, price.currency
        event.price_source, event.prices_version = price.source, price.version
        if price.lines:
            event.extra["line_items"] = {name: str(cost) for name, cost in price.lines.items()}
        elif "line_items" in event.extra:
            del event.extra["line_items"]
        return event

    def _evaluate(self, card: Card | OverrideCard, counts: Counts, calls: dict[str, int], account: str,
                  currency: str, source: str, version: str | None) -> Price:
        try:
            tokens = card.cost(counts)
        except ValueError:  # inconsistent counts (more cached than total): leave it unpriced rather than guess
            return UNPRICED
        if not calls:
            return Price(tokens, currency, source, version)
        lines = {TOKENS_LINE: tokens}
        configured = self._fees.get(account, {})
        for name, count in sorted(calls.items()):
            unit = configured.get(name, card.fees.get(name))
            if unit is None:  # a fee nobody can price: the call's cost is unknown, never its tokens alone
                return UNPRICED
            lines[name] = count * unit
        return Price(sum(lines.values(), ZERO), currency, source, version, lines)

    def _override(self, account: str, model: str) -> OverrideCard | None:
        models = self._overrides.get(account)
        if not models:
            return None
        key = (account, model)
        card = self._override_cards.get(key, _MISSING)
        if card is _MISSING:
            found = models.get(model)
            if found is None:
                found = next((o for pattern, o in models.items()
                              if "*" in pattern and fnmatch.fnmatchcase(model, pattern)), None)
            card = None if found is None else OverrideCard(found)
            self._override_cards[key] = card
        return card  # type: ignore[return-value]

    def _catalog(self, provider: str, model: str, context: Context, ts: datetime) -> Card | None:
        # The price in force can change by date and, for DeepSeek's off-peak hours, by time of day: a minute is
        # the finest step the catalogue uses, so a card is valid for its minute.
        key = (provider, model, context, int(ts.timestamp()) // 60)
        card = self._cards.get(key, _MISSING)
        if card is _MISSING:
            card = self._resolve(provider, model, context, ts)
            if len(self._cards) >= _CACHE_LIMIT:
                self._cards.clear()
            self._cards[key] = card
        return card  # type: ignore[return-value]

    def _resolve(self, provider: str, model: str, context: Context, ts: datetime) -> Card | None:
        info = self._model_info(provider, model)
        if info is None:
            return None
        return catalog_card(info.get_prices(ts, dict(context) or None))

    def _model_info(self, provider: str, model: str) -> gp.ModelInfo | None:
        key = (provider, model)
        if key not in self._models:
            catalog_provider = catalog_id(provider)
            info: gp.ModelInfo | None
            try:
                _, info = genai_prices.data_snapshot.get_snapshot().find_provider_model(
                    model, None, catalog_provider, None)
            except LookupError:
                info = None
            self._models[key] = info
        return self._models[key]


_CONTEXT_KEYS = ("processing", "service_tier", "speed")


def price_context(event: UsageEvent) -> Context:
    """What selects a price variant in the catalogue (genai-prices' price context): the service tier (OpenAI's
    flex and priority), batch processing, Anthropic's fast speed."""
    extra = event.extra
    if not extra:
        return ()
    found = []
    for key in _CONTEXT_KEYS:
        value = extra.get(key)
        if value:
            found.append((key, str(value)))
    return tuple(found)


def _account_currency(account: AccountConfig) -> str:
    return (account.currency or "USD").upper()
