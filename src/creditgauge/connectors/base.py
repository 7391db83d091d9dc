"""What every connector is: declared capabilities plus a list of endpoint tasks the sync runs concurrently."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from creditgauge.config import AccountConfig
from creditgauge.domain import Capability, EndpointUnavailable, Fact, ItemProblem, Window, day_start, to_decimal
from creditgauge.errors import ContractError, ProviderError
from creditgauge.http import ApiClient, RetryPolicy

Fetch = Callable[[Window], Awaitable[Sequence[Fact]]]
NOT_OFFERED_STATUSES = frozenset({404, 405, 501})  # the server has no such route (or method)


class NotOffered(ProviderError):
    """The server answers that it has no such endpoint in a way other than a 404 (a relay serving its web page)."""


class Unreadable(ContractError):
    """One field cannot be read as it is. Inside `read_items` it fails only its item (an ItemProblem); raised for
    a field of the whole answer it is that task's ContractError."""

    def __init__(self, message: str, *, provider: str, endpoint: str, field: str, detail: str) -> None:
        super().__init__(message, provider=provider, endpoint=endpoint)
        self.field = field
        self.detail = detail


def _not_offered_is_a_fact(fetch: Fetch) -> Fetch:
    @functools.wraps(fetch)
    async def guarded(window: Window) -> Sequence[Fact]:
        try:
            return await fetch(window)
        except ProviderError as error:
            if not isinstance(error, NotOffered) and error.status not in NOT_OFFERED_STATUSES:
                raise
            return [EndpointUnavailable(error.endpoint, "not available for this account: the server does not "
                                                        f"offer this endpoint ({error})")]

    return guarded


@dataclass(frozen=True, slots=True)
class EndpointTask:
    """One independently fetched source. `windowed` tasks get the sync window; the others read a current state.

    `source` is the natural key of what the task stores: re-running it for a window replaces exactly the facts
    it stored for that window before, so a revision by the provider replaces and nothing is counted twice.
    """

    source: str
    fetch: Callable[[Window], Awaitable[Sequence[Fact]]]
    windowed: bool = True
    official: bool = True
    # An endpoint some servers or accounts do not offer (Claude Code's report, a relay's credit grants): when the
    # server says it has no such route, the task returns an EndpointUnavailable fact instead of failing.
    optional: bool = False

    def __post_init__(self) -> None:
        if self.optional:
            object.__setattr__(self, "fetch", _not_offered_is_a_fact(self.fetch))


class Connector:
    """Base class. Subclasses set the class attributes and implement `tasks`."""

    provider: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    default_base_url: ClassVar[str]
    default_currency: ClassVar[str] = "USD"
    key_kind: ClassVar[str] = "API key"  # what the user must create, used in messages
    key_help: ClassVar[str] = ""  # where to create it
    official: ClassVar[bool] = True  # False for connectors built on unofficial endpoints
    notes: ClassVar[str] = ""  # shown by `creditgauge providers`: what is verified, what must be estimated
    needs_key: ClassVar[bool] = True
    # Usage measures the provider's usage report never carries (shown as unknown, never summed as 0).
    usage_not_reported: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, account: AccountConfig, key: str | None, client: ApiClient) -> None:
        self.account = account
        self.key = key
        self.client = client

    @classmethod
    def auth_headers(cls, key: str | None, account: AccountConfig) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"} if key else {}

    @classmethod
    def base_url_for(cls, account: AccountConfig) -> str:
        return account.base_url or cls.default_base_url

    @classmethod
    def currency_for(cls, account: AccountConfig) -> str:
        return (account.currency or cls.default_currency).upper()

    @classmethod
    def build(
        cls,
        account: AccountConfig,
        key: str | None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        **client_options: Any,
    ) -> Connector:
        client = ApiClient(
            cls.provider,
            cls.base_url_for(account),
            headers=cls.auth_headers(key, account),
            secrets=[key],
            timeout=timeout,
            retry=retry,
            **client_options,
        )
        return cls(account, key, client)

    def tasks(self) -> list[EndpointTask]:
        raise NotImplementedError  # each connector lists its endpoints

    async def aclose(self) -> None:
        await self.client.aclose()

    def key_location(self) -> str:
        """Where the user puts this account's key, for the fix in an auth error."""
        if self.account.key_env:
            return f"the environment variable {self.account.key_env}"
        return f"key_file ({self.account.key_file})" if self.account.key_file else "key_env or key_file"

    def contract_error(self, endpoint: str, detail: str) -> ContractError:
        return ContractError(f"{self.provider} {endpoint}: {detail}", provider=self.provider, endpoint=endpoint)

    def unreadable(self, endpoint: str, field: str, detail: str) -> Unreadable:
        return Unreadable(f"{self.provider} {endpoint}: {detail}", provider=self.provider, endpoint=endpoint,
                          field=field, detail=detail)


# ---- the tolerant reader: every field a known version may omit is optional, money and counts stay strict ------


def require(obj: Any, key: str, connector: Connector, endpoint: str) -> Any:
    """A required field of a response object; its absence is a clear ContractError (or, inside `read_items`, an
    ItemProblem for that item), never a KeyError."""
    if not isinstance(obj, dict):
        raise connector.unreadable(endpoint, key, f"expected an object with {key!r}, got {type(obj).__name__}")
    if key not in obj:
        raise connector.unreadable(endpoint, key, f"response is missing the required field {key!r}")
    return obj[key]


def require_list(obj: Any, key: str, connector: Connector, endpoint: str) -> list[Any]:
    value = require(obj, key, connector, endpoint)
    if not isinstance(value, list):
        raise connector.unreadable(endpoint, key, f"{key!r} should be a list, got {type(value).__name__}")
    return value


def optional_field(obj: Any, key: str) -> Any:
    """A field some known version omits: None when absent (or when the object itself is not an object)."""
    return obj.get(key) if isinstance(obj, dict) else None


def decimal_field(obj: Any, key: str, connector: Connector, endpoint: str, *, required: bool = True) -> Decimal | None:
    """An exact amount (see `amount_field`); an optional field that is absent or null is None, never 0."""
    if required:
        return amount_field(obj, key, connector, endpoint)
    value = optional_field(obj, key)
    return None if value is None else decimal_value(value, key, connector, endpoint)


def decimal_value(value: Any, field: str, connector: Connector, endpoint: str) -> Decimal:
    """An exact amount already taken out of its object (a list element): unreadable unless it is a number."""
    if value is None:
        raise connector.unreadable(endpoint, field, f"{field!r} is null, expected a number")
    try:
        return to_decimal(value, what=field)
    except (TypeError, ValueError) as error:
        raise connector.unreadable(endpoint, field, str(error)) from None


def amount_field(obj: Any, key: str, connector: Connector, endpoint: str, *, cents: bool = False) -> Decimal:
    """A required exact amount, from a JSON number (parsed as Decimal) or a decimal string; a value that is not a
    number is never guessed: it is unreadable. `cents`: the API counts hundredths (US cents), the result is whole
    units."""
    value = decimal_value(require(obj, key, connector, endpoint), key, connector, endpoint)
    return value / 100 if cents else value


def count_field(obj: Any, key: str, connector: Connector, endpoint: str, *, required: bool = True) -> int | None:
    """A whole count: an integer, an integral JSON number or a digit string (proto3 int64). Anything else is
    unreadable; an optional count that is absent is None."""
    value = require(obj, key, connector, endpoint) if required else optional_field(obj, key)
    if value is None and not required:
        return None
    if isinstance(value, bool):
        raise connector.unreadable(endpoint, key, f"{key!r} should be a whole count, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        number = to_decimal(value, what=key)
    except (TypeError, ValueError):
        number = None
    if number is None or number != number.to_integral_value():
        raise connector.unreadable(endpoint, key, f"{key!r} should be a whole count, got {value!r}")
    return int(number)


def parse_instant(value: Any) -> datetime:
    """A moment sent as RFC 3339 ("2026-08-23T00:00:00Z"), a date-time with a space ("2026-08-23 00:00:00"), a
    bare date or Unix seconds. Naive moments are UTC. Raises ValueError or TypeError when it is none of them."""
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a time")
    if isinstance(value, int | Decimal):
        return datetime.fromtimestamp(int(value), UTC)
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a time")
    text = value.strip()
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def instant_field(obj: Any, key: str, connector: Connector, endpoint: str) -> datetime:
    value = require(obj, key, connector, endpoint)
    try:
        return parse_instant(value)
    except (TypeError, ValueError, OverflowError, OSError):
        raise connector.unreadable(endpoint, key, f"{key!r} is not a date or time: {value!r}") from None


def day_field(obj: Any, key: str, connector: Connector, endpoint: str) -> datetime:
    """The start of the UTC day a field names, whether it is sent as a date or as a date-time."""
    return day_start(instant_field(obj, key, connector, endpoint))


def read_items(connector: Connector, endpoint: str, items: Iterable[Any],
               read: Callable[[Any], Iterable[Fact]]) -> list[Fact]:
    """The facts of every item; an item that cannot be read becomes an ItemProblem (endpoint, field, detail)
    and the others are still read: one bad item never fails the whole task, and is never dropped silently."""
    facts: list[Fact] = []
    for item in items:
        try:
            facts.extend(read(item))
        except Unreadable as problem:
            facts.append(ItemProblem(endpoint, problem.field, problem.detail))
    return facts
