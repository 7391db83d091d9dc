"""`creditgauge init` and `creditgauge providers`: getting configured and seeing what each account can tell."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from creditgauge.cli.app import app, console, emit_json, get_config, print_table, state
from creditgauge.config import default_config_path, resolve_key
from creditgauge.connectors.registry import connector_class
from creditgauge.errors import ConfigError
from creditgauge.filesystem import file_error
from creditgauge.starter import starter_config


@app.command()
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


@app.command()
def providers(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Each configured account: provider, capabilities, what is verified, whether its key was found."""
    config = get_config()
    rows = []
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
    print_table(
        "Accounts",
        [("account", "left"), ("provider", "left"), ("capabilities", "left"), ("key", "left"), ("notes", "left")],
        [
            (
                r["account"],
                r["provider"] + ("" if r["official"] else " (unofficial)"),
                ", ".join(r["capabilities"]) or "tracking only",
                "not needed" if r["key_found"] is None else
                f"{'found' if r['key_found'] else 'MISSING'} ({r['key_source'] or 'not set'})",
                r["notes"],
            )
            for r in rows
        ],
    )
