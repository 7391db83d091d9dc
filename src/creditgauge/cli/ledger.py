"""`creditgauge ledger add/list/remove`: deposits, credit grants and adjustments for accounts with no balance API."""

from __future__ import annotations

import typer

from creditgauge.cli.context import OutputFormat, console, emit_csv, emit_json, get_session, output_format
from creditgauge.cli.status import in_zone, shown, when
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.errors import ConfigError
from creditgauge.service import ledger
from creditgauge.service.ledger import EntryOptions, entry_dict

# The ledger's fields as this command names them: the amount is the option that says the kind (--deposit 20).
CLI_OPTIONS = {kind: EntryOptions(amount=f"--{kind}", at="--at", expires="--expires", currency="--currency")
               for kind in ledger.LEDGER_KINDS}

ledger_app = typer.Typer(help="Deposits, grants and adjustments: how accounts without a balance API get one.",
                         no_args_is_help=True)


@ledger_app.command("add")
def add(
    account: str = typer.Argument(..., help="The account, as named in the config."),
    deposit: str | None = typer.Option(None, "--deposit", help="Money added to the account."),
    grant: str | None = typer.Option(None, "--grant", help="A credit grant (needs --expires)."),
    adjust: str | None = typer.Option(None, "--adjust", help="A correction, positive or negative."),
    expires: str | None = typer.Option(None, "--expires", help="When the grant expires (YYYY-MM-DD)."),
    at: str | None = typer.Option(None, "--at", help="When it happened (date or ISO time, UTC). Default: now."),
    currency: str | None = typer.Option(None, "--currency", help="Default: the account's currency."),
    note: str | None = typer.Option(None, "--note", help="A note for yourself."),
    as_json: bool = typer.Option(False, "--json", help="Print the stored entry as JSON."),
) -> None:
    """Record a deposit, a grant or an adjustment."""
    given = [(kind, value) for kind, value in (("deposit", deposit), ("grant", grant), ("adjust", adjust)) if value]
    if len(given) != 1:
        raise ConfigError("give exactly one of --deposit AMOUNT, --grant AMOUNT --expires DATE, --adjust AMOUNT")
    kind, text = given[0]
    session = get_session()
    entry = ledger.add_entry(session, account=account, kind=kind, amount=text, currency=currency, at=at,
                             expires=expires, note=note, options=CLI_OPTIONS[kind])
    if as_json:
        emit_json(entry_dict(entry))
        return
    console.print(f"added #{entry.id}: {kind} {entry.amount} {entry.currency} to {entry.account} at "
                  f"{when(entry.at, session.config.display.time_zone, named=True)}"
                  + (f", expires {entry.expires_at:%Y-%m-%d}" if entry.expires_at else ""))


@ledger_app.command("list")
def list_command(
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Every ledger entry, oldest first."""
    fmt = output_format(as_json, as_csv)
    session = get_session()
    entries = ledger.list_entries(session, account)
    if fmt is OutputFormat.json:
        emit_json({"rows": [entry_dict(e) for e in entries]})
        return
    if fmt is OutputFormat.csv:
        emit_csv([entry_dict(e) for e in entries], ["id", "account", "kind", "amount", "currency", "at", "expires_at",
                                                     "note"])
        return
    if not entries:
        console.print("the ledger is empty: `creditgauge ledger add ACCOUNT --deposit AMOUNT`")
        return
    zone = session.config.display.time_zone
    print_fitted(console, FittedTable(f"Ledger {in_zone(zone)}", [
        Column("id", [str(e.id) for e in entries], "right", keep=True),
        Column("account", [e.account for e in entries], keep=True),
        Column("kind", [e.kind for e in entries], keep=True),
        Column("amount", [shown(e.amount, e.currency) for e in entries], "right", keep=True),
        Column("currency", [e.currency for e in entries], keep=True),
        Column("at", [when(e.at, zone) for e in entries], keep=True,
               short=[when(e.at, zone)[:10] for e in entries]),
        Column("expires", [f"{e.expires_at:%Y-%m-%d}" if e.expires_at else "" for e in entries], priority=1),
        Column("note", [e.note or "" for e in entries]),
    ], wide=wide))


@ledger_app.command("remove")
def remove(entry_id: int = typer.Argument(..., metavar="ID", help="The entry's id (see `ledger list`).")) -> None:
    """Delete one entry."""
    removed = ledger.remove_entry(get_session(), entry_id)
    if removed is None:
        raise ConfigError(f"no ledger entry #{entry_id}; see `creditgauge ledger list`")
    console.print(f"removed #{removed.id}: {removed.kind} {removed.amount} {removed.currency} from {removed.account}")


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
