"""provider name -> connector class. Built-ins register through the same entry-point group a plugin would use."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from creditgauge.errors import ConfigError

ENTRY_POINT_GROUP = "creditgauge.connectors"

# The built-ins are also declared in pyproject's entry points; this table keeps a source checkout that was never
# installed (and so has no entry-point metadata) working.
BUILTIN = {
    "openai": "creditgauge.connectors.openai:OpenAIConnector",
    "openai-legacy": "creditgauge.connectors.openai_legacy:OpenAILegacyConnector",
    "anthropic": "creditgauge.connectors.anthropic:AnthropicConnector",
    "xai": "creditgauge.connectors.xai:XAIConnector",
    "openrouter": "creditgauge.connectors.openrouter:OpenRouterConnector",
    "deepseek": "creditgauge.connectors.deepseek:DeepSeekConnector",
    "moonshot": "creditgauge.connectors.moonshot:MoonshotConnector",
    "groq": "creditgauge.connectors.groq:GroqConnector",
    "gemini": "creditgauge.connectors.gemini:GeminiConnector",
}


@cache
def _targets() -> dict[str, str]:
    targets = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets[ep.name] = ep.value
    return targets


def known_providers() -> list[str]:
    return sorted(_targets())


def connector_class(provider: str):  # -> type[Connector]; untyped to keep this module import-light
    try:
        target = _targets()[provider]
    except KeyError:
        raise ConfigError(f"unknown provider {provider!r}; use one of: {', '.join(known_providers())}") from None
    module_name, _, attr = target.partition(":")
    return getattr(import_module(module_name), attr)
