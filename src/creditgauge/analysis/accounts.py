"""Which configured accounts an answer covers, and the currency each one keeps its money in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Engine

from creditgauge.config import AccountConfig, Config
from creditgauge.errors import ConfigError
from creditgauge.store.queries import accounts_seen


def select_accounts(config: Config, names: Sequence[str] | None = None) -> list[AccountConfig]:
    """The configured accounts, or the named ones (each must exist)."""
    if not names:
        return list(config.accounts.values())
    return [config.account(name) for name in names]


def home_currency(account: AccountConfig, stored: Mapping[str, str]) -> str:
    """The account's own currency: the config override, else the one the `accounts` table recorded when it last
    synced, else, for an account never synced, the one its provider keeps money in (DeepSeek and Moonshot .cn: CNY),
    else USD."""
    if account.currency:
        return account.currency.upper()
    if account.name in stored:
        return stored[account.name].upper()
    from creditgauge.providers.registry import connector_class

    try:
        return connector_class(account.provider).currency_for(account)
    except (ImportError, AttributeError, ConfigError):
        return "USD"


def stored_currencies(engine: Engine) -> dict[str, str]:
    """Per account, the currency the `accounts` table recorded when it synced."""
    return {name: row["currency"] for name, row in accounts_seen(engine).items()}


def reports_spend(account: AccountConfig) -> bool:
    """Whether the account's provider reports its spend (a cost report), so a synced account with no cost rows
    spent nothing; without one, spend is known only where it is tracked."""
    from creditgauge.domain import Capability
    from creditgauge.providers.registry import connector_class

    try:
        return Capability.COSTS in connector_class(account.provider).capabilities
    except (ImportError, AttributeError, ConfigError):
        return False


def measures_not_reported() -> dict[str, list[str]]:
    """Per usage measure, the providers whose usage reports never carry it (Anthropic: requests)."""
    from creditgauge.providers.registry import connector_class, known_providers

    gaps: dict[str, list[str]] = {}
    for provider in known_providers():
        try:
            missing = connector_class(provider).usage_not_reported
        except (ImportError, AttributeError, ConfigError):
            continue
        for measure in missing:
            gaps.setdefault(measure, []).append(provider)
    return gaps
