"""The provider records: every built-in registered by its entry point and by the fallback table alike, and the
tables other modules read (inference origins, catalogue ids, key shapes, SDK names, starter accounts) answered
from the records."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from creditgauge.errors import ConfigError
from creditgauge.providers import registry
from creditgauge.providers.record import Provider
from creditgauge.redact import redact
from creditgauge.starter import starter_config


def test_every_builtin_has_one_record_named_by_its_entry_point() -> None:
    installed = {ep.name: ep.value for ep in entry_points(group=registry.ENTRY_POINT_GROUP)
                 if ep.value.startswith("creditgauge.connectors.")}
    assert installed == registry.BUILTIN  # pyproject and the never-installed fallback agree
    for name in registry.BUILTIN:
        record = registry.provider(name)
        assert record.name == name and registry.connector_class(name).provider == name


def test_the_tables_are_lookups_over_the_records() -> None:
    assert registry.inference_origin("xai") == "https://api.x.ai"
    assert registry.inference_origin("groq") == "https://api.groq.com"
    assert registry.catalog_ids() == {
        "openai": "openai", "anthropic": "anthropic", "xai": "x-ai", "openrouter": "openrouter",
        "deepseek": "deepseek", "moonshot": "moonshotai", "groq": "groq", "openai-legacy": "openai",
        "gemini": "google"}
    assert registry.catalog_id("a-tracked-provider-nobody-registered") == "a-tracked-provider-nobody-registered"
    assert (registry.display_name("openai-legacy"), registry.display_name("xai")) == ("OpenAI", "xAI")
    assert registry.display_name("a-tracked-provider-nobody-registered") == "a-tracked-provider-nobody-registered"
    assert registry.sdk_providers() == {"openai": "openai", "anthropic": "anthropic"}
    assert registry.option_owners("team_id") == ["xai"]
    assert [name for name, _ in registry.starter_accounts()] == list(registry.BUILTIN)


@pytest.mark.parametrize("key", ["sk-admin-abcdefgh1234", "sk-proj-abcdefgh1234", "sk-ant-admin01-abcdefgh1234",
                                 "sk-or-v1-abcdefgh1234", "xai-abcdefgh1234", "gsk_abcdefgh1234",
                                 "sess-abcdefgh1234", "AIzaSyA1234567890abcdefghijk"])
def test_every_builtin_key_shape_is_masked(key: str) -> None:
    assert redact(f"the answer quoted {key} back") == "the answer quoted [redacted] back"


def test_a_key_variable_is_listed_as_found_and_a_credentials_signal_is_not() -> None:
    text, found = starter_config({"XAI_MANAGEMENT_KEY": "x", "GOOGLE_APPLICATION_CREDENTIALS": "/k.json"})
    assert [key.env for key in found] == ["XAI_MANAGEMENT_KEY"]
    assert '[accounts.xai]\nprovider = "xai"\nkey_env = "XAI_MANAGEMENT_KEY"' in text
    assert '[accounts.gemini]\nprovider = "gemini"\ngcp_project = "my-project"' in text


class _Elsewhere:
    """Not a provider: what a mistaken entry point might name."""


def test_an_entry_point_that_names_no_provider_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.BUILTIN, "broken", "no_such_module_anywhere:PROVIDER")
    monkeypatch.setitem(registry.BUILTIN, "elsewhere", f"{__name__}:_Elsewhere")
    monkeypatch.setitem(registry.BUILTIN, "misnamed", "creditgauge.connectors.groq:PROVIDER")
    registry._targets.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"provider 'broken' cannot be loaded from no_such_module_anywhere:"
                                              r"PROVIDER \(ModuleNotFoundError"):
            registry.provider("broken")
        with pytest.raises(ConfigError, match="neither a Provider record nor a Connector class"):
            registry.provider("elsewhere")
        with pytest.raises(ConfigError, match="is the record of provider 'groq'"):
            registry.provider("misnamed")
        assert registry.option_owners("gcp_project") == ["gemini"]  # the broken ones are left out, not fatal
    finally:
        registry._targets.cache_clear()


def test_a_key_pattern_that_matches_nothing_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="matches empty text"):
        Provider(connector=registry.connector_class("groq"), key_patterns=(r"x*",))


def test_opentelemetry_names_and_api_hosts_come_from_the_records() -> None:
    """What OTLP spans call a provider (gen_ai.provider.name / gen_ai.system, server.address) is read from the
    records: each provider's own name and aliases, its inference origin's host and its other API hosts."""
    names = registry.genai_provider_names()
    assert {alias: names[alias] for alias in ("openai", "azure.ai.openai", "x_ai", "moonshotai", "gcp.gemini")} == {
        "openai": "openai", "azure.ai.openai": "openai", "x_ai": "xai", "moonshotai": "moonshot",
        "gcp.gemini": "gemini"}
    hosts = registry.api_host_providers()
    assert hosts["api.openai.com"] == "openai"  # not openai-legacy, which calls the same API
    assert (hosts["api.moonshot.cn"], hosts["openrouter.ai"], hosts["api.groq.com"]) == ("moonshot", "openrouter",
                                                                                         "groq")
