"""`creditgauge init` and `creditgauge providers`: getting configured and seeing what each account can tell."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from creditgauge.cli.context import console, emit_json, get_config, state
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.config import default_config_path, resolve_key
from creditgauge.errors import ConfigError
from creditgauge.filesystem import file_error
from creditgauge.providers.registry import connector_class
from creditgauge.starter import starter_config


def init(
    path: Path | None = typer.Option(None, "--path", help="Where to write the config (default: the config path)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter config and list the provider keys found in the environment."""
    target = path or state.config_path or default_config_path()
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists; edit it, or pass --force to overwrite it")
    text, found = starter_config(os.environ)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise file_error(exc, "write the config to", target, hint="or pass --path with a writable place") from None
    console.print(f"wrote {target}")
    if found:
        console.print("keys found in the environment (values not read or shown):")
        for known in found:
            console.print(f"  {known.env:<22} -> account {known.account!r} ({known.provider})")
    else:
        console.print("no provider keys found in the environment; uncomment the accounts you use and export their keys")
    console.print("next: creditgauge providers   then   creditgauge sync")


def providers(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Each configured account: provider, capabilities, what is verified, whether its key was found."""
    config = get_config()
    rows: list[dict[str, Any]] = []
    for account in config.accounts.values():
        cls = connector_class(account.provider)
        key_found = resolve_key(account, required=False) is not None
        rows.append({
            "account": account.name,
            "provider": account.provider,
            "capabilities": sorted(c.value for c in cls.capabilities),
            "official": cls.official,
            "key_kind": cls.key_kind,
            "key_source": account.key_env or account.key_file,
            "key_found": key_found if cls.needs_key else None,
            "base_url": cls.base_url_for(account),
            "notes": cls.notes,
        })
    if as_json:
        emit_json({"rows": rows})
        return
    if not rows:
        console.print(f"no accounts configured in {config.path}; run `creditgauge init`")
        return
    print_fitted(console, FittedTable("Accounts", [
        Column("account", [r["account"] for r in rows], keep=True),
        Column("provider", [r["provider"] + ("" if r["official"] else " (unofficial)") for r in rows], keep=True),
        Column("capabilities", [", ".join(r["capabilities"]) or "tracking only" for r in rows], wrap=24),
        Column("key", [_key_state(r) for r in rows], keep=True),
    ], [f"{r['account']}: {r['notes']}" for r in rows if r["notes"]], shows_all="--wide or --json", wide=wide))


def _key_state(row: dict[str, Any]) -> str:
    """Found or missing, and where it is looked for (never the key itself)."""
    if row["key_found"] is None:
        return "not needed"
    return f"{'found' if row['key_found'] else 'MISSING'}\n{row['key_source'] or 'not set'}"


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(providers)
