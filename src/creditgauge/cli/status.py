"""`creditgauge status`: per account and currency, balance with its kind, spend this month and today, the monthly
limit and what remains under it, burn, runway with its date and state (colour-coded), forecast and last sync.

Designed for 80 columns first: the answers (account, balance with its kind, runway and state) are always shown
whole; the other figures are left out, least useful first, when the terminal is narrower, and `--wide` shows them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import typer
from rich.text import Text

from creditgauge.analysis.balance import Balance
from creditgauge.analysis.status import AccountStatus, StatusReport
from creditgauge.cli.context import OutputFormat, console, emit_csv, emit_json, get_session, output_format
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.display import UNKNOWN, local_time, money
from creditgauge.domain import BalanceKind
from creditgauge.service.status import status_report

STATE_STYLE = {"healthy": "green", "warning": "yellow", "critical": "bold red", "unknown": "dim"}
KIND_LABEL = {BalanceKind.VERIFIED: "verified", BalanceKind.ESTIMATED: "estimated",
              BalanceKind.LIMIT_ONLY: "limit only", BalanceKind.UNKNOWN: "unknown"}


def shown(amount: Decimal | None, currency: str | None = None) -> str:
    """An amount for the eye, to its currency's minor unit (the JSON keeps every digit)."""
    return money(amount, currency)


def when(moment: datetime | None, zone: str = "UTC", *, named: bool = False) -> str:
    """A moment in the display time zone (the caller names the zone once, in a title or with `named`)."""
    return "never" if moment is None else local_time(moment, zone, named=named)


def in_zone(zone: str) -> str:
    """The words a table's title ends with, naming the zone its times are in (and, away from UTC, that its
    dates are UTC days)."""
    return f"(times in {zone})" if zone == "UTC" else f"(times in {zone}; days are UTC days)"


UTC_DAYS = "today and this month are UTC days, as providers bucket them"


def kind_label(balance: Balance) -> str:
    label = KIND_LABEL[balance.kind]
    return f"{label} (unofficial)" if balance.kind == BalanceKind.VERIFIED and not balance.official else label


def _runway_cell(row: AccountStatus) -> str:
    runway = row.runway
    if runway.basis is None or runway.state == "unknown":
        return UNKNOWN
    if runway.days is None:
        return "not this month" if runway.basis == "limit" else "no end in sight"
    return f"{runway.days} d, {runway.date}"


def _runway_range(row: AccountStatus) -> str:
    runway = row.runway
    if runway.days is None or runway.shortest_days is None or runway.shortest_days == runway.longest_days:
        return ""
    longest = "∞" if runway.longest_days is None else runway.longest_days
    return f"{runway.shortest_days}–{longest} d"


def _burn_cell(row: AccountStatus) -> str:
    burn, currency = row.burn, row.currency
    if burn is None:
        return UNKNOWN
    return (f"{money(burn.per_day(), currency)} ({money(burn.per_day('low'), currency)}–"
            f"{money(burn.per_day('high'), currency)})")


def _limit_cell(row: AccountStatus) -> str:
    if row.monthly_limit is None:
        return UNKNOWN
    return f"{money(row.monthly_limit, row.currency)} ({money(row.under_limit, row.currency)} left)"


def _sync_cell(row: AccountStatus, zone: str) -> Text:
    failing = row.sync is not None and row.sync.failing_since is not None
    text = when(row.sync.last_success_at if row.sync else None, zone) + (" (failing)" if failing else "")
    return Text(text, style="red" if failing else "")


def status_columns(report: StatusReport, zone: str = "UTC") -> list[Column]:
    """The status table's columns: the answers kept whole, the rest in the order they make room."""
    rows = report.rows
    return [
        Column("account", [Text.assemble(r.account, (f" {r.provider}", "dim")) for r in rows], keep=True,
               short=[r.account for r in rows]),
        Column("balance", [money(r.balance.amount, r.currency, show_currency=True) for r in rows], "right",
               keep=True),
        Column("kind", [kind_label(r.balance) for r in rows], keep=True,
               short=[KIND_LABEL[r.balance.kind] for r in rows]),
        Column("this month", [money(r.month_to_date, r.currency) for r in rows], "right", priority=7),
        Column("today", [money(r.today, r.currency) for r in rows], "right", priority=6),
        Column("30 days", [money(r.last_30_days, r.currency) for r in rows], "right", priority=5),
        Column("limit (left)", [_limit_cell(r) for r in rows], "right", priority=2),
        Column("burn/day (range)", [_burn_cell(r) for r in rows], "right", priority=3),
        Column("runway", [_runway_cell(r) for r in rows], keep=True),
        Column("runway range", [_runway_range(r) for r in rows], priority=1),
        Column("state", [Text(r.state, style=STATE_STYLE.get(r.state, "")) for r in rows], keep=True),
        Column("month end (last month)", [
            f"{money(r.forecast.month_end, r.currency)} (last {money(r.forecast.last_month_actual, r.currency)})"
            for r in rows], "right", priority=4),
        Column("last good sync", [_sync_cell(r, zone) for r in rows], priority=0),
    ]


def status_table(report: StatusReport, *, wide: bool = False, zone: str = "UTC") -> FittedTable:
    """The status table with its notes, laid out for the width it is printed at; times in the display zone."""
    title = f"Status at {when(report.as_of, zone)} {zone}"
    return FittedTable(title, status_columns(report, zone), status_notes(report, zone), wide=wide)


def status_notes(report: StatusReport, zone: str = "UTC") -> list[str]:
    notes = _notes(report, zone)
    if zone != "UTC":
        notes.append(UTC_DAYS)
    if report.quarantined:
        notes.append(quarantine_note(report.quarantined))
    combined = report.combined or {}
    for label, figure in (("balance", combined.get("balance")), ("month to date", combined.get("month_to_date"))):
        if isinstance(figure, dict):
            notes.append(f"combined {label}: {money(figure['amount'], figure['currency'], show_currency=True)} "
                         f"({figure['label']})")
    return notes


def quarantine_note(count: int) -> str:
    items = "item" if count == 1 else "items"
    return f"{count:,} tracked {items} quarantined (not counted): `creditgauge quarantine` lists them"


def _notes(report: StatusReport, zone: str) -> list[str]:
    notes = []
    for row in report.rows:
        for grant in row.balance.grants:
            state = "expired" if grant.expired else f"{money(grant.remaining, grant.currency)} left"
            notes.append(f"{row.account}: credit grant {money(grant.amount, grant.currency, show_currency=True)} "
                         f"expiring {grant.expires_at:%Y-%m-%d}: {state}")
        if row.balance.kind == BalanceKind.VERIFIED and not row.balance.official:
            notes.append(f"{row.account}: balance from an unofficial endpoint ({row.balance.source})")
        reported = row.balance.details.get("grants")
        notes += [f"{row.account}: credit grant {_reported_grant(grant, row.currency)}"
                  for grant in reported if isinstance(grant, dict)] if isinstance(reported, list) else []
        if row.reported_through is not None and row.reported_through < report.as_of.date() and row.today:
            notes.append(f"{row.account}: spend after {row.reported_through} is tracked (provider not posted yet)")
        if row.sync and row.sync.failing_since:
            notes.append(f"{row.account}: sync failing since {when(row.sync.failing_since, zone, named=True)} "
                         f"({', '.join(row.sync.failing_sources)})")
        notes += _unknown_notes(row)
    return list(dict.fromkeys(notes))


def _unknown_notes(row: AccountStatus) -> list[str]:
    """What is not known about a row, said in words where the table can only show "—"."""
    notes = []
    if row.state == "unknown":
        notes.append(f"{row.account}: state unknown: {row.runway.reason}")
    if row.not_posted:
        days = ", ".join(str(day) for day in row.not_posted[:3])
        more = f" and {len(row.not_posted) - 3} more" if len(row.not_posted) > 3 else ""
        notes.append(f"{row.account}: spend not reported yet for {days}{more} (unknown, not 0)")
    if row.unpriced_requests:
        notes.append(f"{row.account}: {row.unpriced_requests:,} tracked requests of the last 30 days have no price "
                     "(not counted as 0)")
    return notes


def _reported_grant(grant: dict[str, object], currency: str) -> str:
    """A grant as the provider reported it (OpenAI's credit_grants: grant_amount, used_amount, expires_at)."""
    expires = str(grant.get("expires_at") or "no expiry")[:10]
    return (f"{money(grant.get('grant_amount'), currency, show_currency=True)}, "
            f"{money(grant.get('used_amount'), currency)} used, expires {expires}")


CSV_COLUMNS = ("account", "provider", "currency", "balance", "kind", "official", "month_to_date", "today",
               "monthly_limit", "under_limit", "burn_per_day", "runway_days", "runway_date", "state",
               "forecast_month_end", "last_sync_at")


def _csv_row(row: AccountStatus) -> dict[str, object]:
    """The flat form of a status row (the JSON keeps the nested detail)."""
    return {
        "account": row.account, "provider": row.provider, "currency": row.currency,
        "balance": row.balance.amount, "kind": row.balance.kind.value, "official": row.balance.official,
        "month_to_date": row.month_to_date, "today": row.today, "monthly_limit": row.monthly_limit,
        "under_limit": row.under_limit, "burn_per_day": row.burn.per_day() if row.burn else None,
        "runway_days": row.runway.days, "runway_date": row.runway.date, "state": row.state,
        "forecast_month_end": row.forecast.month_end,
        "last_sync_at": row.sync.last_success_at if row.sync else None,
    }


def status_command(
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one line per account and currency."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Per account: balance (verified/estimated/limit only), month-to-date spend, burn per day, runway, state."""
    fmt = output_format(as_json, as_csv)
    session = get_session()
    report = status_report(session, account)
    if fmt is OutputFormat.json:
        emit_json(report.to_dict())
        return
    if fmt is OutputFormat.csv:
        emit_csv([_csv_row(row) for row in report.rows], CSV_COLUMNS)
        return
    if not report.rows:
        console.print("no accounts configured: run `creditgauge init`, then `creditgauge sync`")
        return
    print_fitted(console, status_table(report, wide=wide, zone=session.config.display.time_zone))


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)
