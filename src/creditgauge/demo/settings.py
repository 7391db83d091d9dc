"""The demo's config file (accounts pointed at the fakes, a throwaway SQLite database in the work directory) and its
keys, which live in this process's environment only and leave it when the demo stops."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from creditgauge.config import Config, load_config
from creditgauge.demo.scenario import ACCOUNTS, INFERENCE_KEY, deepseek_prices, openai_prices
from creditgauge.redact import register_secret

CONFIG_NAME = "creditgauge-demo.toml"
DATABASE_NAME = "creditgauge-demo.db"
JOURNAL_NAME = "creditgauge-demo-journal"
MONTHLY_LIMITS = {"openai": "2000.00", "anthropic": "1500.00", "groq": "40.00"}  # your own limits, not balances


# Alert rules the demo ships, so its Alerts page has rules firing and resolved: a budget per account and per
# project, the runway of the account running low, and the leak suspect (fired on the leak, resolved since).
ALERT_RULES = (
    {"name": "openai-monthly-budget", "kind": "spend_month_above", "account": "openai", "threshold": "3000.00"},
    {"name": "support-bot-budget", "kind": "spend_month_above", "account": "openai", "project": "support-bot",
     "threshold": "400.00"},
    {"name": "runway-under-two-weeks", "kind": "runway_below", "days": "14"},
    {"name": "leaked-key", "kind": "leak_suspect", "days": "7"},
)


def config_data(urls: Mapping[str, str], *, workdir: Path, days: int, xai_team_id: str,
                tracked_keys: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """The demo config as TOML-shaped data; `urls` maps each account (and "upstream") to its fake's URL;
    `tracked_keys` per account names the fingerprints its tracking recorded."""
    accounts: dict[str, dict[str, Any]] = {}
    for account in ACCOUNTS:
        body: dict[str, Any] = {"provider": account.provider, "key_env": account.key_env,
                                "base_url": urls[account.name]}
        if account.name in MONTHLY_LIMITS:
            body["monthly_limit"] = MONTHLY_LIMITS[account.name]
        accounts[account.name] = body
    accounts["openai"]["prices"] = openai_prices()
    accounts["xai"] |= {"management_base_url": urls["xai"], "team_id": xai_team_id}  # billing: another host
    accounts["openrouter"]["base_url"] = urls["openrouter"] + "/api/v1"
    accounts["deepseek"] |= {"currency": "CNY", "prices": deepseek_prices()}
    accounts["moonshot"]["currency"] = "CNY"
    for name, links in (tracked_keys or {}).items():
        accounts[name]["tracked_keys"] = dict(links)
    return {
        "database_url": f"sqlite:///{workdir / DATABASE_NAME}",
        "sync": {"backfill_days": days},
        "proxy": {"journal_dir": str(workdir / JOURNAL_NAME)},
        "accounts": accounts,
        "alerts": {"rules": [dict(rule) for rule in ALERT_RULES]},
    }


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are valid TOML escapes


def to_toml(data: Mapping[str, Any]) -> str:
    """TOML for the demo config's shape: top-level values, tables, and their sub-tables (mappings below that are
    written inline)."""
    lines = ["# The creditgauge demo: every account points at a fake provider on 127.0.0.1.",
             "# Keys are demo values held in the demo process's environment only."]
    lines += [f"{name} = {_value(value)}" for name, value in data.items() if not isinstance(value, Mapping)]
    for name, table in data.items():
        if not isinstance(table, Mapping):
            continue
        plain = [f"{key} = {_value(value)}" for key, value in table.items() if not isinstance(value, Mapping)]
        if plain:
            lines += ["", f"[{name}]", *plain]
        for child, body in table.items():
            if isinstance(body, Mapping):
                lines += ["", f"[{name}.{child}]", *(f"{key} = {_value(value)}" for key, value in body.items())]
    return "\n".join(lines) + "\n"


def write_config(data: Mapping[str, Any], workdir: Path) -> Config:
    """Write the config file and read it back the way `creditgauge -c FILE` would, so both agree."""
    path = workdir / CONFIG_NAME
    path.write_text(to_toml(data), encoding="utf-8")
    return load_config(path, required=True)


class DemoKeys:
    """Puts the demo keys into the environment (and the redactor's list) and restores the environment after."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def install(self) -> None:
        for account in ACCOUNTS:
            self._saved.setdefault(account.key_env, os.environ.get(account.key_env))
            register_secret(account.key)
            os.environ[account.key_env] = account.key
        register_secret(INFERENCE_KEY)

    def remove(self) -> None:
        for name, previous in self._saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        self._saved.clear()


__all__ = ["ALERT_RULES", "CONFIG_NAME", "DATABASE_NAME", "JOURNAL_NAME", "DemoKeys", "config_data", "to_toml",
           "write_config"]
