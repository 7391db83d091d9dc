"""The one place the web layer asks analysis and the store for answers. Every page, API route and metric goes
through here, so each figure is computed by the same function the CLI calls."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from creditgauge.analysis.accounts import home_currency
from creditgauge.analysis.alerts.engine import check_alerts
from creditgauge.analysis.alerts.rules import active_rules
from creditgauge.analysis.balance import balances
from creditgauge.analysis.ledger import check_entry, entry_dict, parse_amount
from creditgauge.analysis.reconcile import reconcile
from creditgauge.analysis.status import status
from creditgauge.currencies import iso_currency
from creditgauge.dates import parse_day, parse_moment
from creditgauge.errors import ConfigError
from creditgauge.redact import redact
from creditgauge.store import ledger as ledger_store
from creditgauge.store import sync_log
from creditgauge.store.alerts import alert_history, alert_states
from creditgauge.store.quarantine import count_quarantined, recent_quarantined
from creditgauge.web.context import WebContext

RECONCILE_DEFAULT_DAYS = 30


def status_report(ctx: WebContext) -> dict[str, Any]:
    return status(ctx.config, ctx.engine, now=ctx.now()).to_dict()


def balance_report(ctx: WebContext) -> dict[str, Any]:
    return balances(ctx.config, ctx.engine, now=ctx.now()).to_dict()


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


def totals_per_currency(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overview totals: balances of known kinds, spend this month, today and over the last 30 days, and burn, summed
    per currency only. A figure no account of the currency knows stays None (unknown), never 0."""
    fields = ("balance", "month_to_date", "today", "last_30_days", "burn_per_day")
    totals: dict[str, dict[str, Decimal | None]] = defaultdict(lambda: dict.fromkeys(fields))

    def add(sums: dict[str, Decimal | None], name: str, value: Decimal | None) -> None:
        if value is not None:
            sums[name] = (sums[name] or Decimal(0)) + value

    for row in rows:
        sums = totals[row["currency"]]
        if row["balance"]["kind"] in ("verified", "estimated"):
            add(sums, "balance", row["balance"]["amount"])
        for name in ("month_to_date", "today", "last_30_days"):
            add(sums, name, row[name])
        add(sums, "burn_per_day", row["burn"]["per_day"] if row["burn"] else None)
    return [{"currency": currency, **sums} for currency, sums in sorted(totals.items())]


def reconcile_report(ctx: WebContext, since: str | None, until: str | None) -> dict[str, Any]:
    today = ctx.today()
    first = parse_day(since, today=today, option="since") if since else today - timedelta(days=RECONCILE_DEFAULT_DAYS)
    last = parse_day(until, today=today, option="until") if until else None
    return reconcile(ctx.config, ctx.engine, since=first, until=last, now=ctx.now()).to_dict()


def ledger_list(ctx: WebContext) -> dict[str, Any]:
    """The document of `creditgauge ledger list --json`."""
    return {"rows": [entry_dict(entry) for entry in ledger_store.list_entries(ctx.engine)]}


def ledger_add(ctx: WebContext, *, account: str, kind: str, amount: str, currency: str | None = None,
               at: str | None = None, expires: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Validate and record one entry with the rules of `creditgauge ledger add`; returns its JSON document."""
    settings = ctx.config.account(account)
    if kind not in ledger_store.LEDGER_KINDS:
        raise ConfigError(f"ledger kind {kind!r}: use one of {', '.join(ledger_store.LEDGER_KINDS)}")
    value = parse_amount(amount.strip(), "amount")
    now = ctx.now()
    moment = parse_moment(at, now=now, option="at") if at else now
    expires_at = parse_moment(expires, now=now, option="expires") if expires else None
    check_entry(kind, value, moment, expires_at)
    entry = ledger_store.add_entry(ctx.engine, account=settings.name, kind=kind, amount=value,
                                   currency=iso_currency(currency, where="currency") if currency
                                   else home_currency(settings).upper(), at=moment,
                                   expires_at=expires_at, note=note, created_at=now)
    return entry_dict(entry)


def ledger_remove(ctx: WebContext, entry_id: int) -> dict[str, Any]:
    removed = ledger_store.remove_entry(ctx.engine, entry_id)
    if removed is None:
        raise ConfigError(f"no ledger entry {entry_id}; see the ledger for the ids")
    return entry_dict(removed)


def alerts_overview(ctx: WebContext, history: int = 50) -> dict[str, Any]:
    """The configured rules, the state of each (rule, subject) and recent events: the document of
    `creditgauge alerts list --json`."""
    states = alert_states(ctx.engine)
    events = alert_history(ctx.engine, limit=history)
    return {
        "rules": [rule.model_dump(mode="json") for rule in active_rules(ctx.config)],
        "states": [{"rule": s.rule, "subject": s.subject, "state": s.state, "since": s.since,
                    "last_notified_at": s.last_notified_at, "message": s.message} for s in states.values()],
        "history": [{"rule": e.rule, "subject": e.subject, "event": e.event, "at": e.at, "message": e.message,
                     "channels": e.channels} for e in events],
    }


def sync_overview(ctx: WebContext, limit: int = 50) -> dict[str, Any]:
    return {"runs": sync_log.recent_runs(ctx.engine, limit), "sources": sync_log.sync_states(ctx.engine),
            "problems": sync_log.current_problems(ctx.engine), "quarantined": quarantined_overview(ctx, limit)}


def quarantined_overview(ctx: WebContext, limit: int = 50) -> dict[str, Any]:
    """How many tracked items are in quarantine and the newest of them, without their payload (kept for
    `creditgauge quarantine --json`)."""
    items = [{key: redact(value) if key == "reason" else value for key, value in row.items() if key != "payload"}
             for row in recent_quarantined(ctx.engine, limit=limit)]
    return {"total": count_quarantined(ctx.engine), "items": items}


async def evaluate_alerts(ctx: WebContext) -> None:
    """Run the alert rules after a sync: fire, remind and resolve, with the state kept in the store."""
    await check_alerts(ctx.config, ctx.engine, now=ctx.now())  # built-in rules run without any configured
