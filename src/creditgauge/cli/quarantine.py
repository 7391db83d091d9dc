"""`creditgauge quarantine`: the tracked items kept aside because they could not be stored as they came (a value
outside the limits, usage that could not be read, a value the database refused), newest first, with the reason.
They are counted in no figure; `status`, the Sync page, /metrics and an alert say how many there are."""

from __future__ import annotations

from typing import Any

import typer

from creditgauge.cli.context import OutputFormat, console, emit_csv, emit_json, get_session, output_format
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.display import UNKNOWN
from creditgauge.service.syncing import quarantined

CSV_COLUMNS = ("quarantined_at", "kind", "origin", "account", "reason")
REASON_WIDTH = 44  # prose: word-wrapped so the when, origin and account columns stay whole in 80 columns


def _item(row: dict[str, Any]) -> dict[str, Any]:
    """One item as shown, its fields in this order."""
    return {"quarantined_at": row["quarantined_at"], "kind": row["kind"], "origin": row["origin"],
            "account": row["account"], "reason": row["reason"], "payload": row["payload"]}


def quarantine_table(items: list[dict[str, Any]], total: int, *, wide: bool = False) -> FittedTable:
    columns = [
        Column("when (UTC)", [f"{item['quarantined_at']:%Y-%m-%d %H:%M}" for item in items], keep=True),
        Column("origin", [f"{item['origin']} {item['kind']}" for item in items], keep=True,
               short=[item["origin"] for item in items]),
        Column("account", [item["account"] or UNKNOWN for item in items], priority=1),
        Column("reason", [item["reason"] for item in items], wrap=REASON_WIDTH),
    ]
    notes = [f"showing the newest {len(items):,} of {total:,}: --limit N shows more"] if total > len(items) else []
    notes.append("the items as they came (keys masked): creditgauge quarantine --json")
    return FittedTable(f"Quarantined items: {total:,}, not counted in any figure", columns, notes, wide=wide)


def quarantine_command(
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="Show at most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON, with each item's payload (keys masked)."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one line per item, without the payload."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Tracked items that could not be stored as they came (not counted anywhere), with the reason."""
    fmt = output_format(as_json, as_csv)
    total, rows = quarantined(get_session(), limit=limit)
    items = [_item(row) for row in rows]
    if fmt is OutputFormat.json:
        emit_json({"total": total, "items": items})
    elif fmt is OutputFormat.csv:
        emit_csv(items, CSV_COLUMNS)
    elif not items:
        console.print("nothing quarantined: every tracked item was stored as it came")
    else:
        print_fitted(console, quarantine_table(items, total, wide=wide))


def register(app: typer.Typer) -> None:
    app.command("quarantine")(quarantine_command)
