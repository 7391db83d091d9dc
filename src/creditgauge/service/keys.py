"""The keys report, one shape for `creditgauge keys --json` and `GET /api/v1/keys`: every key with its names, the
redacted value as its provider shows it, reported and tracked spend over a window (default the last 30 days), the
difference and the leak-suspect days. Never key material: only the providers' redacted forms and fingerprints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from creditgauge.analysis.keys import LEAK_EXPLANATION, KeyRow, key_rows
from creditgauge.config import Config
from creditgauge.dates import parse_day
from creditgauge.errors import ConfigError
from creditgauge.service.names import Names, load_names
from creditgauge.store.types import money

DEFAULT_DAYS = 30
COLUMNS = ("account", "provider", "api_key", "api_key_name", "redacted", "owner", "project", "project_name",
           "workspace", "workspace_name", "created_at", "last_used_at", "status", "key_fingerprints", "currency",
           "reported", "tracked", "difference", "input_tokens", "output_tokens", "requests", "leak_suspect",
           "suspect_days", "suspect_amount")


@dataclass(frozen=True, slots=True)
class KeysWindow:
    since: date
    until: date  # exclusive


def keys_window(*, today: date, since: str | None = None, until: str | None = None,
                days: int | None = None) -> KeysWindow:
    """`--since/--until` (until exclusive, default through today) or `--days N` (the last N days, today included);
    by default the last 30 days."""
    if days is not None and since:
        raise ConfigError("--days and --since both give the window's start; use one of them")
    if days is not None and days < 1:
        raise ConfigError(f"--days {days}: give 1 or more days")
    end = parse_day(until, today=today, option="--until") if until else today + timedelta(days=1)
    start = parse_day(since, today=today) if since else end - timedelta(days=days or DEFAULT_DAYS)
    if end <= start:
        raise ConfigError(f"--until {end} must be after --since {start}")
    return KeysWindow(start, end)


def keys_report(config: Config, engine: Engine, window: KeysWindow, accounts: Sequence[str] | None = None,
                key: str | None = None) -> dict[str, Any]:
    """The keys report; with `key` (a provider key id or a fingerprint) also `key`: that key's row with its
    `days` (reported and tracked spend per day), or None when no key of the window has that id."""
    rows = key_rows(config, engine, since=window.since, until=window.until, accounts=accounts)
    names = load_names(engine)
    shaped = [_row(row, names) for row in rows]
    chosen = next((i for i, row in enumerate(rows) if key is not None and key in (row.api_key, *row.fingerprints)),
                  None)
    detail = None if chosen is None else {**shaped[chosen], "days": [
        {"day": day, "reported": _money(r), "tracked": _money(t),
         "difference": None if r is None or t is None else money(r - t)}
        for day, (r, t) in rows[chosen].daily.items()]}
    shaped.sort(key=lambda r: (not r["leak_suspect"], -(r["reported"] or 0), r["account"], r["api_key_name"] or ""))
    return {
        "since": window.since, "until": window.until,
        "threshold": {"min_difference": config.reconcile.min_difference, "min_ratio": config.reconcile.min_ratio},
        "rows": shaped,
        "suspects": sum(1 for row in shaped if row["leak_suspect"]),
        "explanation": LEAK_EXPLANATION,
        **({"key": detail} if key is not None else {}),
    }


def _row(row: KeyRow, names: Names) -> dict[str, Any]:
    details = row.details
    project, workspace = details.get("project"), details.get("workspace")
    return {
        "account": row.account, "provider": row.provider, "api_key": row.api_key, "api_key_name": row.name,
        "redacted": details.get("redacted"), "owner": details.get("owner"),
        "project": project, "project_name": names.name("project", project, row.account),
        "workspace": workspace, "workspace_name": names.name("workspace", workspace, row.account),
        "created_at": details.get("created_at"), "last_used_at": details.get("last_used_at"),
        "status": details.get("status"), "key_fingerprints": row.fingerprints, "currency": row.currency,
        "reported": _money(row.reported), "tracked": _money(row.tracked), "difference": _money(row.difference),
        **row.usage, "leak_suspect": row.leak_suspect,
        "suspect_days": [{"day": d.day, "reported": money(d.reported), "tracked": money(d.tracked),
                          "difference": money(d.difference)} for d in row.suspect_days],
        "suspect_amount": _money(row.suspect_amount),
    }


def _money(amount: Decimal | None) -> Decimal | None:
    """Exact, with at least two decimals; unknown stays None."""
    return None if amount is None else money(amount)


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's rows flattened for CSV: fingerprints and suspect days joined by spaces."""
    return [{**row, "key_fingerprints": " ".join(row["key_fingerprints"]),
             "suspect_days": " ".join(str(d["day"]) for d in row["suspect_days"])} for row in report["rows"]]


def key_ref(row: dict[str, Any]) -> str:
    """What names a row's key in `?key=`: the provider's id, else its fingerprint."""
    return str(row["api_key"] or row["key_fingerprints"][0])


def key_label(row: dict[str, Any]) -> str:
    """How a key reads for a person: its name, else its redacted value, its id or its fingerprint."""
    return str(row["api_key_name"] or row["redacted"] or row["api_key"] or " ".join(row["key_fingerprints"]))


__all__ = ["COLUMNS", "DEFAULT_DAYS", "KeysWindow", "csv_rows", "key_label", "key_ref", "keys_report", "keys_window"]
