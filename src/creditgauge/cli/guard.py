"""`creditgauge guard`: exit code 3 when any account falls short, one line per shortfall (for CI and cron)."""

from __future__ import annotations

import typer

from creditgauge.analysis.guard import Limits, guard
from creditgauge.analysis.ledger import parse_amount
from creditgauge.cli.context import console, emit_json, err_console, get_session
from creditgauge.service.status import status_report

SHORTFALL_EXIT = 3


def guard_command(
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    min_runway_days: str | None = typer.Option(None, "--min-runway-days", help="Fail under this many days."),
    min_balance: str | None = typer.Option(None, "--min-balance", help="Fail under this balance (account currency)."),
    max_month_spend: str | None = typer.Option(None, "--max-month-spend", help="Fail over this month-to-date spend."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Exit 3 when an account falls short. With no limits given, an account in the critical state falls short."""
    limits = Limits(
        min_runway_days=parse_amount(min_runway_days, "--min-runway-days") if min_runway_days else None,
        min_balance=parse_amount(min_balance, "--min-balance") if min_balance else None,
        max_month_spend=parse_amount(max_month_spend, "--max-month-spend") if max_month_spend else None,
    )
    report = guard(status_report(get_session(), account), limits)
    if as_json:
        emit_json(report.to_dict())
    else:
        for subject, reason in report.skipped.items():
            err_console.print(f"skipped {subject}: {reason}", markup=False)
        for shortfall in report.shortfalls:
            console.print(shortfall.message, markup=False, soft_wrap=True)
        if report.ok:
            console.print(f"ok: {len(report.checked)} account(s) checked", markup=False)
    if not report.ok:
        raise typer.Exit(SHORTFALL_EXIT)


def register(app: typer.Typer) -> None:
    app.command("guard")(guard_command)
