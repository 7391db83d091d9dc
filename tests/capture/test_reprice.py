"""`creditgauge reprice --since D`: stored tracked events get today's price, idempotently; provider costs stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from creditgauge.capture.reprice import reprice
from creditgauge.cli import app
from creditgauge.config import parse_config
from creditgauge.domain import UsageEvent
from creditgauge.pricing import Pricer
from creditgauge.store import schema
from creditgauge.store.events import store_events


def events() -> list[UsageEvent]:
    def make(event_id: str, model: str, day: int, **fields) -> UsageEvent:
        return UsageEvent(id=event_id, account="ds", provider="deepseek", ts=datetime(2026, 11, day, 9, tzinfo=UTC),
                          model=model, endpoint="chat.completions", source="proxy", input_tokens=1_000_000,
                          output_tokens=1_000_000, **fields)

    priced = Pricer()
    stored = [make("old", "deepseek-chat", 1), make("chat", "deepseek-chat", 10), make("unknown", "mystery-1", 10)]
    for e in stored:
        priced.apply(e)
    stored.append(make("provider", "deepseek-chat", 10, cost=Decimal("9.99"), price_source="provider"))
    return stored


def costs(engine: Engine) -> dict[str, tuple]:
    table = schema.usage_events
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.id, table.c.cost, table.c.price_source)).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_reprice_applies_a_price_fix_once(engine: Engine) -> None:
    store_events(engine, events())
    assert costs(engine)["chat"] == (Decimal("1.37"), "genai-prices")  # the stale catalogue price (0.27 + 1.10)
    config = parse_config({"accounts": {"ds": {"provider": "deepseek", "prices": {
        "deepseek-chat": {"input": "0.56", "cached_input": "0.07", "output": "1.68"}}}}}, None)
    first = reprice(engine, Pricer.from_config(config), since=datetime(2026, 11, 5, tzinfo=UTC))
    assert (first.checked, first.changed, first.unpriced, first.provider_priced) == (3, 1, 1, 1)
    after = costs(engine)
    assert after["chat"] == (Decimal("2.24"), "override")
    assert after["old"] == (Decimal("1.37"), "genai-prices")  # before --since: untouched
    assert after["unknown"] == (None, None)
    assert after["provider"] == (Decimal("9.99"), "provider")
    again = reprice(engine, Pricer.from_config(config), since=datetime(2026, 11, 5, tzinfo=UTC))
    assert again.changed == 0


def test_reprice_command(sqlite_url: str, tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{sqlite_url}"\n[accounts.ds]\nprovider = "deepseek"\n'
                      f'[accounts.ds.prices."deepseek-chat"]\ninput = "0.56"\noutput = "1.68"\n', encoding="utf-8")
    from creditgauge.store.engine import open_engine

    engine = open_engine(sqlite_url)
    store_events(engine, events())
    runner = CliRunner()
    result = runner.invoke(app, ["--config", str(config), "reprice", "--since", "2026-11-05", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["checked"], report["changed"], report["since"]) == (3, 1, "2026-11-05T00:00:00Z")
    assert costs(engine)["chat"] == (Decimal("2.24"), "override")
    result = runner.invoke(app, ["--config", str(config), "reprice", "--since", "2026-11-05"])
    assert result.exit_code == 0 and "0 changed" in result.output
    bad = runner.invoke(app, ["--config", str(config), "reprice", "--since", "last tuesday"])
    assert bad.exit_code != 0
    engine.dispose()
