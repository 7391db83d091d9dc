"""Where the proxy sends an account's inference calls.

`/{account}/<path>` goes to the account's `base_url` + `<path>`, or to the provider's API origin + `<path>`.
This table holds inference origins (scheme + host only, so the client's path maps through unchanged), not the
connectors' `default_base_url`: those point at billing and admin APIs, which for some providers live on another
host (xAI's management API) or carry a path prefix.
"""

from __future__ import annotations

from creditgauge.config import AccountConfig
from creditgauge.errors import ConfigError

INFERENCE_ORIGINS = {
    "openai": "https://api.openai.com",
    "openai-legacy": "https://api.openai.com",
    "anthropic": "https://api.anthropic.com",
    "xai": "https://api.x.ai",
    "groq": "https://api.groq.com",  # OpenAI-compatible paths start with /openai/v1
    "gemini": "https://generativelanguage.googleapis.com",
    "openrouter": "https://openrouter.ai",  # paths start with /api/v1
    "deepseek": "https://api.deepseek.com",
    "moonshot": "https://api.moonshot.ai",  # set base_url = "https://api.moonshot.cn" for the China platform
}


def upstream_base(account: AccountConfig) -> str:
    if account.base_url:
        return account.base_url.rstrip("/")
    try:
        return INFERENCE_ORIGINS[account.provider]
    except KeyError:
        raise ConfigError(f"account {account.name!r}: provider {account.provider!r} has no known inference URL; "
                          f"set base_url for it") from None
