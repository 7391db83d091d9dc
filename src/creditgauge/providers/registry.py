"""Every provider, by name: the built-ins and plugins, each registered by an entry point naming its record
(`module:PROVIDER`). The tables other modules need (inference origins, catalogue ids, key shapes, SDK names,
starter accounts) are lookups over these records; a provider module is imported only when it is asked for."""

from __future__ import annotations

import re
import threading
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from creditgauge.errors import ConfigError
from creditgauge.providers.record import Provider, ProviderOptions, StarterAccount

if TYPE_CHECKING:
    from creditgauge.connectors.base import Connector

ENTRY_POINT_GROUP = "creditgauge.connectors"

# The built-ins are also declared in pyproject's entry points; this table keeps a source checkout that was never
# installed (and so has no entry-point metadata) working. Its order is the order `init` writes accounts in.
BUILTIN = {
    "openai": "creditgauge.connectors.openai:PROVIDER",
    "anthropic": "creditgauge.connectors.anthropic:PROVIDER",
    "xai": "creditgauge.connectors.xai:PROVIDER",
    "openrouter": "creditgauge.connectors.openrouter:PROVIDER",
    "deepseek": "creditgauge.connectors.deepseek:PROVIDER",
    "moonshot": "creditgauge.connectors.moonshot:PROVIDER",
    "groq": "creditgauge.connectors.groq:PROVIDER",
    "openai-legacy": "creditgauge.connectors.openai_legacy:PROVIDER",
    "gemini": "creditgauge.connectors.gemini:PROVIDER",
}


@cache
def _targets() -> dict[str, str]:
    """name -> "module:attribute": the built-ins first, then plugins by name (a plugin may replace a built-in)."""
    targets = dict(BUILTIN)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        targets[ep.name] = ep.value
    return targets


def known_providers() -> list[str]:
    return sorted(_targets())


@cache
def provider(name: str) -> Provider:
    try:
        target = _targets()[name]
    except KeyError:
        raise ConfigError(f"unknown provider {name!r}; use one of: {', '.join(known_providers())}") from None
    module_name, _, attr = target.partition(":")
    try:
        found = getattr(import_module(module_name), attr)
    except Exception as error:  # a broken plugin: say which one, whatever it raised
        raise ConfigError(f"provider {name!r} cannot be loaded from {target} ({type(error).__name__}: {error}); "
                          "reinstall or remove the package that provides it") from None
    if not isinstance(found, Provider):
        # A connector class is told by its shape, not by importing connectors.base: this module sits below the store.
        if not (isinstance(found, type) and isinstance(getattr(found, "provider", None), str)
                and callable(getattr(found, "tasks", None))):
            raise ConfigError(f"provider {name!r}: {target} is neither a Provider record nor a Connector class")
        found = Provider(connector=found)  # an entry point naming a bare connector: a provider without options
    if found.name != name:
        raise ConfigError(f"provider {name!r}: {target} is the record of provider {found.name!r}; "
                          "the entry point's name must be the provider's name")
    return found


def providers() -> list[Provider]:
    """Every registered provider, in registration order."""
    return [provider(name) for name in _targets()]


def connector_class(name: str) -> type[Connector]:
    return provider(name).connector


def options_model(name: str) -> type[ProviderOptions]:
    return provider(name).options


def inference_origin(name: str) -> str | None:
    return provider(name).inference_origin


def _registered(name: str) -> Provider | None:
    """The record of `name`, or None for a name no provider registers (a tracked event may name any provider)."""
    return provider(name) if name in _targets() else None


def catalog_id(name: str) -> str:
    """The price catalogue's id for a provider; a name that is not registered is its own id."""
    record = _registered(name)
    return (record and record.catalog_id) or name


def display_name(name: str) -> str:
    record = _registered(name)
    return (record and record.display_name) or name


def catalog_ids() -> dict[str, str]:
    return {record.name: catalog_id(record.name) for record in providers()}


@cache
def sdk_providers() -> dict[str, str]:
    """SDK module -> provider, for clients track() is given without a provider."""
    return {module: record.name for record in providers() for module in record.sdk_modules}


@cache
def genai_provider_names() -> dict[str, str]:
    """A provider as OpenTelemetry GenAI spans name it (`gen_ai.provider.name`, `gen_ai.system`) -> its name."""
    names: dict[str, str] = {}
    for record in _loadable():
        for alias in (record.name, *record.genai_names):
            names.setdefault(alias.lower(), record.name)
    return names


@cache
def api_host_providers() -> dict[str, str]:
    """The host of a provider's API -> the provider; the first registered wins a shared host (openai before
    openai-legacy, which call the same API)."""
    hosts: dict[str, str] = {}
    for record in _loadable():
        origin_host = urlsplit(record.inference_origin).hostname if record.inference_origin else None
        for host in (origin_host, *record.api_hosts):
            if host:
                hosts.setdefault(host.lower(), record.name)
    return hosts


def starter_accounts() -> list[tuple[str, StarterAccount]]:
    return [(record.name, record.starter) for record in providers() if record.starter is not None]


def _loadable() -> list[Provider]:
    """The providers that load; for answers that must not fail because of another provider's broken plugin."""
    found = []
    for name in _targets():
        try:
            found.append(provider(name))
        except ConfigError:
            continue
    return found


def option_owners(option: str) -> list[str]:
    """The providers that take `option`, for the error when another provider's account sets it."""
    return [record.name for record in _loadable() if option in record.options.model_fields]


_loading_patterns = threading.local()


def key_pattern() -> re.Pattern[str] | None:
    """Every registered provider's key shapes as one pattern (None if none are known). A provider that cannot be
    loaded adds none: redaction never fails. While the providers load (a log record made by an import), None."""
    if getattr(_loading_patterns, "active", False):
        return None
    return _key_pattern()


@cache
def _key_pattern() -> re.Pattern[str] | None:
    _loading_patterns.active = True
    try:
        patterns = dict.fromkeys(pattern for record in _loadable() for pattern in record.key_patterns)
    finally:
        _loading_patterns.active = False
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
