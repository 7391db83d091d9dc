"""Tool fees of tracked events as their own line items: `spend --by line_item --source tracked` shows "tokens" and
one line per fee (web search, code interpreter...), a call whose fee has no price is counted unpriced, never $0,
and `reprice` moves the split along with the price."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from creditgauge.capture.reprice import reprice
from creditgauge.cli import app
from creditgauge.config import parse_config
from creditgauge.domain import UsageEvent
from creditgauge.pricing import Pricer
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_events

DAY = datetime(2026, 11, 20, 9, tzinfo=UTC)
M = Decimal(1_000_000)
TOKENS = (10_000 * Decimal(2) + 1_000 * Decimal(8)) / M  # gpt-4.1: $2 in, $8 out per million


def event(event_id: str, tool_calls: dict[str, int] | None = None) -> UsageEvent:
    extra = {"tool_calls": tool_calls} if tool_calls else {}
    return UsageEvent(id=event_id, account="oa", provider="openai", ts=DAY, model="gpt-4.1", endpoint="responses",
                      source="proxy", input_tokens=10_000, output_tokens=1_000, extra=extra)


def config_text(database_url: str, code_interpreter: str) -> str:
    return (f'database_url = "{database_url}"\n[accounts.oa]\nprovider = "openai"\n'
            f'[accounts.oa.fees]\ncode_interpreter = "{code_interpreter}"\n')


def spend_rows(config: Path) -> list[dict]:
    result = CliRunner().invoke(app, ["--config", str(config), "spend", "--since", "2026-11-20", "--until",
                                      "2026-11-21", "--source", "tracked", "--by", "line_item", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["rows"]


def test_spend_by_line_item_shows_each_fee_and_follows_a_reprice(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_text(database_url, "0.03"), encoding="utf-8")
    engine = open_engine(database_url)
    pricer = Pricer.from_config(parse_config({"accounts": {"oa": {"provider": "openai",
                                                                  "fees": {"code_interpreter": "0.03"}}}}, None))
    stored = [event("plain"), event("searched", {"web_search": 2}), event("coded", {"code_interpreter": 1}),
              event("drawn", {"image_generation": 1})]  # no price for image generation anywhere: unpriced
    for item in stored:
        pricer.apply(item)
    assert stored[3].cost is None
    store_events(engine, stored)
    rows = {row["line_item"]: row for row in spend_rows(config)}
    assert set(rows) == {"tokens", "web_search", "code_interpreter"}
    assert Decimal(rows["tokens"]["amount"]) == 3 * TOKENS  # the unpriced call adds nothing, and is counted
    assert rows["tokens"]["unpriced_requests"] == 1
    assert Decimal(rows["web_search"]["amount"]) == Decimal("0.02")  # $10 per 1000 calls (genai-prices)
    assert Decimal(rows["code_interpreter"]["amount"]) == Decimal("0.03")

    fixed = parse_config({"accounts": {"oa": {"provider": "openai", "fees": {
        "code_interpreter": "0.05", "image_generation": "0.04"}}}}, None)
    report = reprice(engine, Pricer.from_config(fixed), since=DAY.replace(hour=0))
    assert (report.changed, report.unpriced) == (2, 0)
    config.write_text(config_text(database_url, "0.05"), encoding="utf-8")
    rows = {row["line_item"]: row for row in spend_rows(config)}
    assert Decimal(rows["tokens"]["amount"]) == 4 * TOKENS and rows["tokens"]["unpriced_requests"] == 0
    assert Decimal(rows["code_interpreter"]["amount"]) == Decimal("0.05")
    assert Decimal(rows["image_generation"]["amount"]) == Decimal("0.04")
    assert reprice(engine, Pricer.from_config(fixed), since=DAY.replace(hour=0)).changed == 0
    engine.dispose()
