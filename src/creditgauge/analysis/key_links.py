"""Which provider key a tracked fingerprint is: the account's `tracked_keys` names, per fingerprint, a listed key's
id or name, or a name of its own (for a provider that lists no keys)."""

from __future__ import annotations

from collections.abc import Sequence

from creditgauge.config import AccountConfig
from creditgauge.store.names import Entity


def fingerprint_links(account: AccountConfig, listed: Sequence[Entity]) -> tuple[dict[str, str], dict[str, str]]:
    """fingerprint -> the listed key's id, and fingerprint -> a name of its own for the rest. `listed` are the
    account's keys as the provider lists them."""
    keys = [entity for entity in listed if entity.account == account.name and entity.kind == "api_key"]
    by_name = {entity.name: entity.entity_id for entity in keys}
    ids = {entity.entity_id for entity in keys}
    linked: dict[str, str] = {}
    own: dict[str, str] = {}
    for fingerprint, target in account.tracked_keys.items():
        if target in ids or target in by_name:
            linked[fingerprint] = target if target in ids else by_name[target]
        else:
            own[fingerprint] = target
    return linked, own


__all__ = ["fingerprint_links"]
