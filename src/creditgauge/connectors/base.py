"""What every connector is: declared capabilities plus a list of endpoint tasks the sync runs concurrently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from creditgauge.config import AccountConfig
from creditgauge.domain import Capability, Fact, Window
from creditgauge.errors import ContractError
from creditgauge.http import ApiClient, RetryPolicy


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


def require(obj: Any, key: str, connector: Connector, endpoint: str) -> Any:
    """A required field of a response object; its absence is a clear ContractError, never a KeyError."""
    if not isinstance(obj, dict):
        raise connector.contract_error(endpoint, f"expected an object with {key!r}, got {type(obj).__name__}")
    if key not in obj:
        raise connector.contract_error(endpoint, f"response is missing the required field {key!r}")
    return obj[key]
