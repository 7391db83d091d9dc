"""Where the proxy sends an account's inference calls.

`/{account}/<path>` goes to the account's `base_url` + `<path>`, or to the provider's API origin + `<path>`.
The provider's record holds its inference origin (scheme + host only, so the client's path maps through unchanged),
not the connector's `default_base_url`: those point at billing and admin APIs, which for some providers live on another
host (xAI's management API) or carry a path prefix.
"""

from __future__ import annotations

from creditgauge.config import AccountConfig
from creditgauge.errors import ConfigError
from creditgauge.providers.registry import inference_origin


def upstream_base(account: AccountConfig) -> str:
    if account.base_url:
        return account.base_url.rstrip("/")
    origin = inference_origin(account.provider)
    if origin is None:
        raise ConfigError(f"account {account.name!r}: provider {account.provider!r} has no known inference URL; "
                          f"set base_url for it")
    return origin
