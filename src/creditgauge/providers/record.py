"""What a provider is, in one record: its connector, the options its accounts may set, where its inference API
lives, its display name and price-catalogue id, the key variables `init` looks for and the key shapes the redactor
masks, and the SDKs whose clients `track()` attributes to it. Each provider module ends with
`PROVIDER = Provider(...)`, named by an entry point (registry.py); nothing else lists providers.

Import-light on purpose: the config validates provider options through this module, so it imports no connector."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from creditgauge.connectors.base import Connector


class ProviderOptions(BaseModel):
    """The keys of `[accounts.X]` that only this provider reads, beside the common ones. A provider without options
    of its own uses this class as it is; unknown keys are refused either way."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class StarterAccount:
    """How `creditgauge init` writes this provider's account: active when `env` is set in the environment."""

    env: str
    note: str  # what the account reads, written as a comment above it
    key: bool = True  # `env` holds the key (key_env = env); False: it only says credentials exist (Google ADC)
    lines: tuple[str, ...] = ()  # option lines (`key = "value"   # comment`), commented out with the account
    hints: tuple[str, ...] = ()  # lines always written as comments (optional settings worth knowing)


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    connector: type[Connector]
    display_name: str | None = None  # the company's name in exports (FOCUS ProviderName), when not the name
    options: type[ProviderOptions] = ProviderOptions
    inference_origin: str | None = None  # scheme + host the proxy forwards to when the account has no base_url
    catalog_id: str | None = None  # genai-prices' provider id, when it is not the provider's name
    starter: StarterAccount | None = None
    key_patterns: tuple[str, ...] = ()  # regular expressions of this provider's key shapes, masked everywhere
    sdk_modules: tuple[str, ...] = ()  # top-level modules of SDKs whose clients track() attributes to it
    # How OpenTelemetry instrumentations name it in gen_ai.provider.name / gen_ai.system, beside its own name.
    genai_names: tuple[str, ...] = ()
    api_hosts: tuple[str, ...] = ()  # hosts of its API beside the inference origin's (a regional platform)

    def __post_init__(self) -> None:
        for pattern in self.key_patterns:
            if not pattern or re.compile(pattern).match(""):
                raise ValueError(f"provider {self.name!r}: key pattern {pattern!r} matches empty text")

    @property
    def name(self) -> str:
        return self.connector.provider

    @property
    def option_names(self) -> list[str]:
        return sorted(self.options.model_fields)
