"""The starter config `creditgauge init` writes, with accounts for the keys found in the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownKey:
    env: str
    provider: str
    account: str
    note: str


KNOWN_KEYS = (
    KnownKey("OPENAI_ADMIN_KEY", "openai", "openai", "admin key (sk-admin-...): costs and usage"),
    KnownKey("ANTHROPIC_ADMIN_KEY", "anthropic", "anthropic", "Admin API key (sk-ant-admin01-...): costs and usage"),
    KnownKey("XAI_MANAGEMENT_KEY", "xai", "xai", "management key: balance, invoices, limits"),
    KnownKey("OPENROUTER_API_KEY", "openrouter", "openrouter", "credits need a management key; /key works with any"),
    KnownKey("DEEPSEEK_API_KEY", "deepseek", "deepseek", "balance per currency"),
    KnownKey("MOONSHOT_API_KEY", "moonshot", "moonshot", "balance (CNY on .cn, USD on .ai)"),
    KnownKey("GROQ_API_KEY", "groq", "groq", "no billing API: spend comes from the proxy / SDK hook"),
    KnownKey("OPENAI_API_KEY", "openai-legacy", "openai-legacy",
             "unofficial billing endpoints; the official reports need OPENAI_ADMIN_KEY"),
)

HEADER = """\
# creditgauge configuration. Reference: the README's "Configuration" section.
# Keys are never written here: each account names the environment variable (or file) that holds its key.

# database_url = "postgresql://user@host/creditgauge"   # default: a SQLite file in your user data directory

[sync]
backfill_days = 90        # how far back the first sync reads
late_window_days = 3      # days re-read on every sync: providers post late and revise

"""


def _account_block(known: KnownKey, active: bool) -> str:
    prefix = "" if active else "# "
    lines = [
        f"# {known.note}",
        f"{prefix}[accounts.{known.account}]",
        f'{prefix}provider = "{known.provider}"',
        f'{prefix}key_env = "{known.env}"',
    ]
    if known.provider in ("openai", "anthropic"):
        lines.append('# monthly_limit = "200.00"   # your own limit, in the account currency')
    return "\n".join(lines) + "\n"


def starter_config(env: Mapping[str, str]) -> tuple[str, list[KnownKey]]:
    """The file text, and the keys found (by variable name only: values are never read here)."""
    found = [k for k in KNOWN_KEYS if env.get(k.env)]
    used_accounts: set[str] = set()
    blocks = []
    for known in KNOWN_KEYS:
        active = known in found and known.account not in used_accounts
        if active:
            used_accounts.add(known.account)
        blocks.append(_account_block(known, active))
    google = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    blocks.append(
        "# Gemini: usage from Cloud Monitoring, cost from the Cloud Billing export in BigQuery (pip install "
        "'creditgauge[google]')\n"
        + ("" if google else "# ")
        + "[accounts.gemini]\n# provider = \"gemini\"\n# gcp_project = \"my-project\"\n"
        "# billing_table = \"my-project.billing.gcp_billing_export_v1_XXXXXX\"\n"
    )
    if google:
        blocks[-1] = blocks[-1].replace('# provider = "gemini"', 'provider = "gemini"').replace(
            '# gcp_project = "my-project"', 'gcp_project = "my-project"   # set your project')
    return HEADER + "\n".join(blocks), found
