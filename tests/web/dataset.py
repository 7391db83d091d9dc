"""A small, exact store for the web tests: four accounts (a ledger, a verified balance in two currencies, a
monthly limit, tracked traffic with tags), written the way connectors and capture write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from creditgauge.config import Config, parse_config
from creditgauge.domain import BalanceSnapshot, CostBucket, UsageBucket, UsageEvent, Window, day_start
from creditgauge.store.events import store_events
from creditgauge.store.facts import register_account, store_facts
from creditgauge.store.ledger import add_entry

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
FIRST_DAY = date(2026, 10, 1)
LAST_DAY = date(2026, 11, 19)  # reported data runs through yesterday
PLANTED_KEY = "sk-admin-PLANTEDplantedPLANTED0123456789"

ACCOUNTS = {
    "openai-main": {"provider": "openai", "key_env": "OPENAI_ADMIN_KEY", "monthly_limit": "500.00"},
    "xai-team": {"provider": "xai", "key_env": "XAI_MANAGEMENT_KEY"},
    "deepseek": {"provider": "deepseek", "key_env": "DEEPSEEK_API_KEY"},
    "groq-dev": {"provider": "groq", "key_env": "GROQ_API_KEY", "monthly_limit": "50.00"},
}
# Per day and model, what openai-main's cost report says.
OPENAI_DAILY = {"gpt-4o": Decimal("3.25"), "gpt-4o-mini": Decimal("0.75")}
XAI_DAILY = Decimal("2.10")
TRACKED_COST = Decimal("1.50")  # each tracked openai event; two a day from November 1
GROQ_COST = Decimal("0.20")  # each tracked groq event; one a day from November 1


def config(**extra: object) -> Config:
    return parse_config({"accounts": ACCOUNTS, **extra}, None)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _reported(engine: Engine) -> None:
    window = Window.days(FIRST_DAY, LAST_DAY + timedelta(days=1))
    openai_costs = [
        CostBucket(day_start(day), day_start(day) + timedelta(days=1), amount, "USD", model=model, project="proj_web",
                   line_item=f"{model}, input")
        for day in days(FIRST_DAY, LAST_DAY) for model, amount in OPENAI_DAILY.items()
    ]
    openai_usage = [
        UsageBucket(day_start(day), day_start(day) + timedelta(days=1), "completions", model="gpt-4o",
                    project="proj_web", input_tokens=1000, cached_input_tokens=200, output_tokens=300, requests=10)
        for day in days(FIRST_DAY, LAST_DAY)
    ]
    store_facts(engine, account="openai-main", source="costs", window=window, facts=openai_costs)
    store_facts(engine, account="openai-main", source="usage.completions", window=window, facts=openai_usage)
    xai_costs = [CostBucket(day_start(day), day_start(day) + timedelta(days=1), XAI_DAILY, "USD", model="grok-4")
                 for day in days(FIRST_DAY, LAST_DAY)]
    store_facts(engine, account="xai-team", source="invoice_preview", window=window, facts=xai_costs)
    store_facts(engine, account="xai-team", source="balance", window=None,
                facts=[BalanceSnapshot(NOW - timedelta(minutes=5), Decimal("123.45"), "USD")])
    store_facts(engine, account="deepseek", source="balance", window=None, facts=[
        BalanceSnapshot(NOW - timedelta(minutes=5), Decimal("110.00"), "CNY"),
        BalanceSnapshot(NOW - timedelta(minutes=5), Decimal("4.37"), "USD"),
    ])


def _tracked(engine: Engine) -> None:
    events = []
    for day in days(date(2026, 11, 1), LAST_DAY + timedelta(days=1)):
        noon = day_start(day) + timedelta(hours=12 if day <= LAST_DAY else 9)
        for n, team in enumerate(("search", "chat")):
            events.append(UsageEvent(
                id=f"oa-{day.isoformat()}-{n}", account="openai-main", provider="openai", ts=noon, model="gpt-4o",
                endpoint="/v1/chat/completions", source="proxy", input_tokens=500, cached_input_tokens=100,
                output_tokens=200, key_fingerprint="fp_0123456789ab", tags={"team": team}, status_code=200,
                cost=TRACKED_COST, currency="USD", price_source="genai-prices"))
        events.append(UsageEvent(
            id=f"gq-{day.isoformat()}", account="groq-dev", provider="groq", ts=noon, model="llama-3.3-70b",
            endpoint="/openai/v1/chat/completions", source="sdk", input_tokens=800, output_tokens=100,
            status_code=200, cost=GROQ_COST, currency="USD", price_source="genai-prices"))
    events.append(UsageEvent(  # a model no price is known for: unpriced, never $0
        id="gq-unpriced", account="groq-dev", provider="groq", ts=NOW - timedelta(hours=1), model="mystery-1",
        endpoint="/openai/v1/chat/completions", source="sdk", input_tokens=10, output_tokens=5, status_code=200))
    store_events(engine, events)


def populate(engine: Engine) -> None:
    for name, body in ACCOUNTS.items():
        currency = "CNY" if body["provider"] == "deepseek" else "USD"
        register_account(engine, name, body["provider"], currency)
    _reported(engine)
    _tracked(engine)
    add_entry(engine, account="openai-main", kind="deposit", amount=Decimal("1000.00"), currency="USD",
              at=day_start(FIRST_DAY), expires_at=None, note="initial top-up", created_at=NOW)
