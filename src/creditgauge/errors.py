"""The one error tree of creditgauge.

    CreditgaugeError
     ├── ConfigError          bad config, arguments or environment  -> exit code 2
     ├── ProviderError        a provider answered badly or not at all -> exit code 1
     │    ├── AuthError       the key is missing, wrong or of the wrong kind
     │    ├── RateLimited     429 after every retry
     │    └── ContractError   the response does not have the documented shape
     ├── StoreError           the database refused or is unreachable   -> exit code 1
     └── FileAccessError      a local file or directory cannot be read or written (permission, read-only, disk
                              full)                                      -> exit code 1
"""

from __future__ import annotations


class CreditgaugeError(Exception):
    """Base of every error creditgauge raises on purpose; its message is one readable line."""

    exit_code = 1


class ConfigError(CreditgaugeError):
    exit_code = 2


class ProviderError(CreditgaugeError):
    def __init__(self, message: str, *, provider: str = "", endpoint: str = "", status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.endpoint = endpoint
        self.status = status

    def with_hint(self, hint: str, *, separator: str = "; ") -> ProviderError:
        """The same error (same class, provider, endpoint, status) with the fix appended to its message."""
        return type(self)(f"{self}{separator}{hint}", provider=self.provider, endpoint=self.endpoint,
                          status=self.status)


class AuthError(ProviderError):
    pass


class RateLimited(ProviderError):
    pass


class ContractError(ProviderError):
    pass


class StoreError(CreditgaugeError):
    pass


class FileAccessError(CreditgaugeError):
    pass
