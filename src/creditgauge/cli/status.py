"""`creditgauge status`: per account and currency, balance with its kind, spend this month and today, the monthly
limit and what remains under it, burn, runway with its date and state (colour-coded), forecast and last sync."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import typer
from rich.table import Table
from rich.text import Text

from creditgauge import clock
from creditgauge.analysis.balance import Balance
from creditgauge.analysis.status import AccountStatus, StatusReport, status
from creditgauge.cli.app import OutputFormat, app, console, emit_csv, emit_json, get_config, get_engine, output_format
from creditgauge.domain import BalanceKind

STATE_STYLE = {"healthy": "green", "warning": "yellow", "critical": "bold red", "unknown": "dim"}
KIND_LABEL = {BalanceKind.VERIFIED: "verified", BalanceKind.ESTIMATED: "estimated",
              BalanceKind.LIMIT_ONLY: "limit only", BalanceKind.UNKNOWN: "unknown"}


def shown(amount: Decimal | None, places: str = "0.01") -> str:
    """An amount for the eye: rounded to cents (the JSON keeps every digit)."""
    return "-" if amount is None else str(amount.quantize(Decimal(places), rounding=ROUND_HALF_EVEN))


def when(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def kind_label(balance: Balance) -> str:
    label = KIND_LABEL[balance.kind]
    return f"{label} (unofficial)" if balance.kind == BalanceKind.VERIFIED and not balance.official else label


def _runway_cell(row: AccountStatus) -> str:
    runway = row.runway
    if runway.basis is None:
        return "-"
    if runway.days is None:
        return "not this month" if runway.basis == "limit" else "no end in sight"
    text = f"{runway.days} d, {runway.date}"
    if runway.shortest_days is not None and runway.shortest_days != runway.longest_days:
        longest = "∞" if runway.longest_days is None else runway.longest_days
        text += f" ({runway.shortest_days}–{longest} d)"
    return text


def _cells(row: AccountStatus) -> list[str | Text]:
    burn = row.burn
    burn_text = "-" if burn is None else (
        f"{shown(burn.per_day())} ({shown(burn.per_day('low'))}–{shown(burn.per_day('high'))})")
    limit = "-" if row.monthly_limit is None else f"{shown(row.monthly_limit)} ({shown(row.under_limit)} left)"
    sync = when(row.sync.last_success_at if row.sync else None)
    failing = row.sync is not None and row.sync.failing_since is not None
    sync_cell = Text(sync + (" (failing)" if failing else ""), style="red" if failing else "")
    forecast = row.forecast
    return [
        Text.assemble(row.account, (f" {row.provider}", "dim")),
        f"{shown(row.balance.amount)} {row.currency}" if row.balance.amount is not None else "-",
        kind_label(row.balance),
        shown(row.month_to_date), shown(row.today), limit, burn_text, _runway_cell(row),
        Text(row.state, style=STATE_STYLE[row.state]),
        f"{shown(forecast.month_end)} (last {shown(forecast.last_month_actual)})",
        sync_cell,
    ]


def status_table(report: StatusReport) -> Table:
    table = Table(title=f"Status at {when(report.as_of)} UTC", header_style="bold", caption_justify="left")
    for header, justify in (("account", "left"), ("balance", "right"), ("kind", "left"), ("month to date", "right"),
                            ("today", "right"), ("limit (under your limit)", "right"), ("burn/day (range)", "right"),
                            ("runway", "left"), ("state", "left"), ("month end (last month)", "right"),
                            ("last good sync", "left")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in report.rows:
        table.add_row(*_cells(row))
    notes = _notes(report)
    combined = report.combined or {}
    for label, figure in (("balance", combined.get("balance")), ("month to date", combined.get("month_to_date"))):
        if isinstance(figure, dict):
            notes.append(f"combined {label}: {shown(figure['amount'])} {figure['currency']} ({figure['label']})")
    if notes:
        table.caption = "\n".join(notes)
    return table


def _notes(report: StatusReport) -> list[str]:
    notes = []
    for row in report.rows:
        for grant in row.balance.grants:
            state = "expired" if grant.expired else f"{shown(grant.remaining)} left"
            notes.append(f"{row.account}: credit grant {shown(grant.amount)} {grant.currency} expiring "
                         f"{grant.expires_at:%Y-%m-%d}: {state}")
        if row.balance.kind == BalanceKind.VERIFIED and not row.balance.official:
            notes.append(f"{row.account}: balance from an unofficial endpoint ({row.balance.source})")
        notes += [f"{row.account}: credit grant {_reported_grant(grant, row.currency)}"
                  for grant in row.balance.details.get("grants") or [] if isinstance(grant, dict)]
        if row.reported_through is not None and row.reported_through < report.as_of.date() and row.today:
            notes.append(f"{row.account}: spend after {row.reported_through} is tracked (provider not posted yet)")
        if row.sync and row.sync.failing_since:
            notes.append(f"{row.account}: sync failing since {when(row.sync.failing_since)} "
                         f"({', '.join(row.sync.failing_sources)})")
    return list(dict.fromkeys(notes))


def _reported_grant(grant: dict[str, object], currency: str) -> str:
    """A grant as the provider reported it (OpenAI's credit_grants: grant_amount, used_amount, expires_at)."""
    expires = str(grant.get("expires_at") or "no expiry")[:10]
    return f"{grant.get('grant_amount')} {currency}, {grant.get('used_amount')} used, expires {expires}"


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


@app.command("status")
def status_command(
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one line per account and currency."),
) -> None:
    """Per account: balance (verified/estimated/limit only), month-to-date spend, burn per day, runway, state."""
    fmt = output_format(as_json, as_csv)
    report = status(get_config(), get_engine(), now=clock.now(), accounts=account or None)
    if fmt is OutputFormat.json:
        emit_json(report.to_dict())
        return
    if fmt is OutputFormat.csv:
        emit_csv([_csv_row(row) for row in report.rows], CSV_COLUMNS)
        return
    if not report.rows:
        console.print("no accounts configured: run `creditgauge init`, then `creditgauge sync`")
        return
    console.print(status_table(report))
