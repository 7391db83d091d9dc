"""`creditgauge keys`: every API key the providers list, with its name, owner, reported and tracked spend over a
window, and the keys that look leaked."""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.text import Text

from creditgauge import clock
from creditgauge.cli.context import OutputFormat, console, emit_csv, emit_json, get_config, get_engine, output_format
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.display import NOT_REPORTED, UNKNOWN, money
from creditgauge.errors import ConfigError
from creditgauge.redact import fingerprint
from creditgauge.service.keys import COLUMNS, csv_rows, key_label, keys_report, keys_window


def keys_command(
    since: str | None = typer.Option(None, "--since", help="First day (YYYY-MM-DD, month, 30d...)."),
    until: str | None = typer.Option(None, "--until", help="Last day, exclusive (default: through today)."),
    days: int | None = typer.Option(None, "--days", help="The last N days, today included. Default: 30."),
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    fingerprint_of: str | None = typer.Option(
        None, "--fingerprint-of", metavar="ENV_VAR",
        help="Print the fingerprint of the key held in this environment variable (to link it in tracked_keys)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Every API key: name, owner, reported and tracked spend, the difference, and leak suspects."""
    fmt = output_format(as_json, as_csv)
    if fingerprint_of is not None:
        _print_fingerprint(fingerprint_of)
        return
    window = keys_window(today=clock.now().date(), since=since, until=until, days=days)
    report = keys_report(get_config(), get_engine(), window, account or None)
    if fmt is OutputFormat.json:
        emit_json(report)
        return
    if fmt is OutputFormat.csv:
        emit_csv(csv_rows(report), COLUMNS)
        return
    rows = report["rows"]
    if not rows:
        console.print("no keys known; run `creditgauge sync` (OpenAI and Anthropic admin keys, an xAI management "
                      "key and an OpenRouter provisioning key list them)")
        return
    notes = [f"{key_label(row)} ({row['account']}): leak suspect, "
             f"{money(row['suspect_amount'], row['currency'], show_currency=True)} on "
             f"{', '.join(str(d['day']) for d in row['suspect_days'])}: {report['explanation']}"
             for row in rows if row["leak_suspect"]]
    title = f"Keys {report['since']} to {report['until']} (exclusive)"
    print_fitted(console, FittedTable(title, _columns(rows), notes, wide=wide))


def _print_fingerprint(variable: str) -> None:
    key = os.environ.get(variable, "").strip()
    if not key:
        raise ConfigError(f"--fingerprint-of {variable}: that environment variable is not set or empty")
    console.print(fingerprint(key))


def _amount(row: dict[str, Any], name: str) -> str:
    """An amount with its currency (keys of several currencies share the table); unknown says which side lacks it."""
    value = row[name]
    if value is None:
        return {"reported": NOT_REPORTED, "tracked": "not tracked"}.get(name, UNKNOWN)
    return money(value, row["currency"], show_currency=name != "difference")


def _columns(rows: list[dict[str, Any]]) -> list[Column]:
    return [
        Column("key", [key_label(row) for row in rows], keep=True),
        Column("account", [row["account"] for row in rows], priority=2),
        Column("redacted", [row["redacted"] or "" for row in rows], priority=0),
        Column("project", [row["project_name"] or row["workspace_name"] or row["project"] or row["workspace"] or ""
                           for row in rows], priority=1),
        Column("owner", [row["owner"] or "" for row in rows], priority=0),
        Column("reported", [_amount(row, "reported") for row in rows], "right", keep=True),
        Column("tracked", [_amount(row, "tracked") for row in rows], "right", keep=True),
        Column("difference", [_amount(row, "difference") for row in rows], "right", priority=3),
        Column("leak", [Text(f"suspect {len(row['suspect_days'])}d", style="bold red") if row["leak_suspect"]
                        else Text("") for row in rows], keep=True),
    ]


def register(app: typer.Typer) -> None:
    app.command("keys")(keys_command)
