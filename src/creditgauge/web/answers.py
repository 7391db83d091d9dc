"""The web layer's answers: each page, API route and metric asks the service layer, the same functions the CLI
calls, and gets the JSON document the CLI's --json prints."""

from __future__ import annotations

from typing import Any

from creditgauge.analysis.alerts.engine import check_alerts
from creditgauge.errors import ConfigError
from creditgauge.service import alerts, ledger, reconcile, status, syncing
from creditgauge.service.reports import API_OPTIONS
from creditgauge.service.status import totals_per_currency
from creditgauge.web.context import WebContext

__all__ = ["alerts_overview", "balance_report", "evaluate_alerts", "ledger_add", "ledger_list", "ledger_remove",
           "reconcile_report", "status_report", "status_rows", "sync_overview", "totals_per_currency"]


def status_report(ctx: WebContext) -> dict[str, Any]:
    return status.status_report(ctx).to_dict()


def balance_report(ctx: WebContext) -> dict[str, Any]:
    return status.balance_report(ctx).to_dict()


def status_rows(ctx: WebContext) -> list[dict[str, Any]]:
    """Flat rows for /metrics: one per account and currency."""
    rows = []
    for row in status_report(ctx)["rows"]:
        rows.append({
            "account": row["account"], "currency": row["currency"],
            "balance": row["balance"]["amount"], "balance_kind": row["balance"]["kind"],
            "month_to_date": row["month_to_date"],
            "burn_per_day": row["burn"]["per_day"] if row["burn"] else None,
            "runway_days": row["runway"]["days"], "state": row["state"],
        })
    return rows


def reconcile_report(ctx: WebContext, since: str | None, until: str | None) -> dict[str, Any]:
    return reconcile.reconcile_report(ctx, since=since, until=until, options=API_OPTIONS).to_dict()


def ledger_list(ctx: WebContext) -> dict[str, Any]:
    """The document of `creditgauge ledger list --json`."""
    return ledger.ledger_document(ctx)


def ledger_add(ctx: WebContext, *, account: str, kind: str, amount: str, currency: str | None = None,
               at: str | None = None, expires: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Validate and record one entry with the rules of `creditgauge ledger add`; returns its JSON document."""
    return ledger.entry_dict(ledger.add_entry(ctx, account=account, kind=kind, amount=amount, currency=currency,
                                              at=at, expires=expires, note=note))


def ledger_remove(ctx: WebContext, entry_id: int) -> dict[str, Any]:
    removed = ledger.remove_entry(ctx, entry_id)
    if removed is None:
        raise ConfigError(f"no ledger entry {entry_id}; see the ledger for the ids")
    return ledger.entry_dict(removed)


def alerts_overview(ctx: WebContext, history: int = 50) -> dict[str, Any]:
    """The document of `creditgauge alerts list --json`."""
    return alerts.alerts_overview(ctx, history=history).to_dict()


def sync_overview(ctx: WebContext, limit: int = 50) -> dict[str, Any]:
    return syncing.sync_overview(ctx, limit)


async def evaluate_alerts(ctx: WebContext) -> None:
    """Run the alert rules after a sync: fire, remind and resolve, with the state kept in the store."""
    await check_alerts(ctx.config, ctx.engine, now=ctx.now())  # built-in rules run without any configured
