"""The [fx] combined view: labelled with each rate and its date, never an unlabelled sum across currencies."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from creditgauge.config import load_config, parse_config
from creditgauge.domain import CostBucket, Window
from creditgauge.errors import ConfigError
from creditgauge.fx import combine
from creditgauge.service.reports import ReportQuery, spend_report
from creditgauge.store.facts import store_facts

FX = {"fx": {"CNY": {"rate": "0.1381", "date": "2026-11-20"}}}


def test_combine_converts_at_the_configured_rate_and_says_so() -> None:
    fx = parse_config(FX, None).fx
    combined = combine([(Decimal("100.00"), "CNY"), (Decimal("2.50"), "USD")], fx)
    assert combined is not None
    assert combined["amount"] == Decimal("16.31") and combined["currency"] == "USD"
    assert combined["label"] == "converted at 1 CNY = 0.1381 USD (2026-11-20)"
    assert combined["missing"] == []


def test_nothing_to_combine_and_missing_rates() -> None:
    fx = parse_config(FX, None).fx
    assert combine([(Decimal(1), "USD")], fx) is None
    assert combine([(Decimal(1), "USD"), (Decimal(1), "CNY")], {}) is None
    partial = combine([(Decimal(1), "USD"), (Decimal(7), "EUR")], fx)
    assert partial is not None and partial["missing"] == ["EUR"] and partial["amount"] == Decimal("1.00")


@pytest.mark.parametrize(("body", "message"), [
    ('[fx.CNY]\nrate = "-1"\ndate = "2026-11-20"\n', "fx.CNY.rate: an exchange rate must be a positive amount"),
    ('[fx.CNY]\nrate = "0.14"\n', "fx.CNY.date: required field is missing"),
    ('[fx.CNY]\nrate = "0.14"\ndate = "d"\n[fx.JPY]\nrate = "0.01"\ndate = "d"\nto = "EUR"\n',
     "every rate must convert into one currency"),
])
def test_bad_fx_config(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_spend_report_carries_the_labelled_combined_total(engine: Engine) -> None:
    day = datetime(2026, 11, 20, tzinfo=UTC)
    window = Window(day, datetime(2026, 11, 21, tzinfo=UTC))
    store_facts(engine, account="ds", source="costs", window=window, facts=[
        CostBucket(day, window.end, Decimal("100"), "CNY"), CostBucket(day, window.end, Decimal("2.5"), "USD")])
    query = ReportQuery(since=date(2026, 11, 20), until=date(2026, 11, 21), by=["account"], source="reported",
                        today=date(2026, 11, 22))
    plain = spend_report(engine, query)
    assert "combined" not in plain and len(plain["totals"]) == 2
    fx = parse_config(FX, None).fx
    report = spend_report(engine, replace(query, fx=fx))
    assert report["totals"] == plain["totals"]
    assert report["combined"]["amount"] == Decimal("16.31")
    assert report["combined"]["rates"] == [{"from": "CNY", "to": "USD", "rate": Decimal("0.1381"),
                                            "date": "2026-11-20"}]


def test_status_combines_balances_and_spend_across_currencies(engine: Engine) -> None:
    from creditgauge.analysis.status import status
    from creditgauge.domain import BalanceSnapshot

    config = parse_config({**FX, "accounts": {
        "ds": {"provider": "deepseek", "key_env": "K1"}, "or": {"provider": "openrouter", "key_env": "K2"}}}, None)
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    store_facts(engine, account="ds", source="balance", window=None,
                facts=[BalanceSnapshot(now, Decimal("200"), "CNY")])
    store_facts(engine, account="or", source="credits", window=None,
                facts=[BalanceSnapshot(now, Decimal("10"), "USD")])
    report = status(config, engine, now=now)
    combined = report.to_dict()["combined"]
    assert combined["balance"]["amount"] == Decimal("37.62") and combined["balance"]["currency"] == "USD"
    assert "1 CNY = 0.1381 USD (2026-11-20)" in combined["balance"]["label"]
