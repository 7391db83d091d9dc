"""`creditgauge balance`: the latest balance per account and currency, with its kind and its age."""

from __future__ import annotations

import typer

from creditgauge.cli.context import OutputFormat, console, emit_csv, emit_json, get_session, output_format
from creditgauge.cli.status import kind_label, when
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.display import age, money
from creditgauge.domain import BalanceKind
from creditgauge.service.status import balance_report


def balance_command(
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: {\"rows\": [...]}."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Latest balance per account: amount, currency, kind (verified/estimated/limit only), age."""
    fmt = output_format(as_json, as_csv)
    session = get_session()
    report = balance_report(session, account)
    now, zone = report.as_of, session.config.display.time_zone
    if fmt is OutputFormat.json:
        emit_json(report.to_dict())
        return
    if fmt is OutputFormat.csv:
        rows = [row.to_dict() for row in report.rows if row.kind != BalanceKind.UNKNOWN]  # the JSON's rows
        emit_csv(rows, ["account", "provider", "amount", "currency", "kind", "official", "as_of", "source"])
        return
    known = [row for row in report.rows if row.kind != BalanceKind.UNKNOWN]
    unknown = sorted({row.account for row in report.rows if row.kind == BalanceKind.UNKNOWN})
    if known:
        print_fitted(console, FittedTable(f"Balances at {when(now, zone)} {zone}", [
            Column("account", [r.account for r in known], keep=True),
            Column("provider", [r.provider for r in known], priority=1),
            Column("amount", [money(r.amount, r.currency) for r in known], "right", keep=True),
            Column("currency", [r.currency for r in known], keep=True),
            Column("kind", [kind_label(r) for r in known], keep=True),
            Column("as of", [when(r.as_of, zone) for r in known]),
            Column("age", [age(r.as_of, now) for r in known], "right", priority=2),
        ], ["limit only = what remains under your own monthly limit, not money on the account"], wide=wide))
    if unknown:
        console.print(f"no balance information for: {', '.join(unknown)} "
                      "(add `creditgauge ledger add ACCOUNT --deposit AMOUNT` or a monthly_limit)")
    if not report.rows:
        console.print("no accounts configured: run `creditgauge init`")


def register(app: typer.Typer) -> None:
    app.command("balance")(balance_command)
