"""The starter config `creditgauge init` writes, with accounts for the keys found in the environment. Which
variables it looks for, and what each account block says, come from the providers' records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from creditgauge.providers.record import StarterAccount
from creditgauge.providers.registry import starter_accounts


@dataclass(frozen=True)
class KnownKey:
    env: str
    provider: str
    account: str
    starter: StarterAccount


HEADER = """\
# creditgauge configuration. Reference: the README's "Configuration" section.
# Keys are never written here: each account names the environment variable (or file) that holds its key.

# database_url = "postgresql://user@host/creditgauge"   # default: a SQLite file in your user data directory

[sync]
backfill_days = 90        # how far back the first sync reads
late_window_days = 3      # days re-read on every sync: providers post late and revise

"""


def known_keys() -> list[KnownKey]:
    """One account per provider that says how to start one, named after the provider."""
    return [KnownKey(starter.env, provider, provider, starter) for provider, starter in starter_accounts()]


def _account_block(known: KnownKey, active: bool) -> str:
    prefix = "" if active else "# "
    starter = known.starter
    lines = [f"# {starter.note}", f"{prefix}[accounts.{known.account}]", f'{prefix}provider = "{known.provider}"']
    if starter.key:
        lines.append(f'{prefix}key_env = "{known.env}"')
    lines += [prefix + line for line in starter.lines]
    lines += ["# " + hint for hint in starter.hints]
    return "\n".join(lines) + "\n"


def starter_config(env: Mapping[str, str]) -> tuple[str, list[KnownKey]]:
    """The file text, and the keys found (by variable name only: values are never read here). An account is
    written active when its variable is set; only the variables that hold a key are listed as found."""
    known = known_keys()
    present = [key for key in known if env.get(key.env)]
    text = HEADER + "\n".join(_account_block(key, key in present) for key in known)
    return text, [key for key in present if key.starter.key]
