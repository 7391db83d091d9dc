"""`creditgauge export`: CSV, JSON and FOCUS from both sources, exact amounts, totals equal to the spend report."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.service import export as exporter
from creditgauge.service.reports import ReportQuery, spend_report

from . import dataset

runner = CliRunner()
NOV = {"since": datetime(2026, 11, 1, tzinfo=UTC), "until": datetime(2026, 11, 21, tzinfo=UTC)}


def run(engine: Engine, fmt: str, source: str) -> str:
    out = io.StringIO()
    written: list[int] = []
    exporter.export(engine, out, fmt=fmt, source=source, progress=written.append, **NOV)
    assert sum(written) == exporter.count(engine, source=source, **NOV)
    return out.getvalue()


def report_totals(engine: Engine, source: str) -> dict[str, Decimal]:
    report = spend_report(engine, ReportQuery(since=date(2026, 11, 1), until=None, by=["account"], source=source,
                          today=dataset.NOW.date()))
    return {t["currency"]: t["amount"] for t in report["totals"]}


@pytest.mark.parametrize("source", ["reported", "tracked"])
def test_focus_export_sums_to_the_spend_report(store: Engine, source: str) -> None:
    rows = list(csv.DictReader(io.StringIO(run(store, "focus", source))))
    assert list(rows[0])[:5] == ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency"]
    billed = sum((Decimal(r["BilledCost"]) for r in rows if r["BilledCost"]), Decimal(0))
    assert {"USD": billed} == report_totals(store, source)
    first = rows[0]
    assert first["ChargePeriodStart"] == "2026-11-01T00:00:00Z" and first["ChargePeriodEnd"] == "2026-11-02T00:00:00Z"
    assert first["BillingPeriodStart"] == "2026-11-01T00:00:00Z" and first["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
    assert first["ChargeCategory"] == "Usage" and first["x_Source"] == source
    if source == "reported":
        gpt = next(r for r in rows if r["SkuId"] == "gpt-4o")
        assert gpt["ProviderName"] == "OpenAI" and gpt["ServiceName"] == "OpenAI API"
        assert gpt["ChargeDescription"] == "gpt-4o, input" and json.loads(gpt["Tags"]) == {"project": "proj_web"}
    else:
        tagged = next(r for r in rows if r["BillingAccountId"] == "openai-main")
        assert json.loads(tagged["Tags"])["team"] in ("chat", "search")
        assert tagged["ConsumedQuantity"] == "700" and tagged["ConsumedUnit"] == "Tokens"
        assert tagged["ResourceId"] == "fp_0123456789ab"
        unpriced = next(r for r in rows if r["SkuId"] == "mystery-1")
        assert unpriced["BilledCost"] == "" and unpriced["x_UnpricedRequests"] == "1"  # never $0


def test_json_export_is_the_report_envelope(store: Engine) -> None:
    body = json.loads(run(store, "json", "reported"), parse_float=Decimal)
    assert body["since"] == "2026-11-01T00:00:00Z" and body["source"] == "reported"
    assert body["totals"] == [{"amount": "115.90", "currency": "USD"}]
    assert len(body["rows"]) == 19 * 3  # two openai models and one xai line per day
    assert body["rows"][0]["amount"] in ("3.25", "0.75", "2.10")


def test_csv_export_uses_the_cli_column_names(store: Engine) -> None:
    rows = list(csv.DictReader(io.StringIO(run(store, "csv", "tracked"))))
    assert tuple(rows[0]) == exporter.NATIVE_COLUMNS
    assert sum(int(r["requests"]) for r in rows) == 20 * 3 + 1


def test_export_command_writes_a_file(store: Engine, tmp_path: Path) -> None:
    target = tmp_path / "focus.csv"
    result = runner.invoke(app, ["export", "--format", "focus", "--since", "2026-11-01", "--until", "2026-11-03",
                                 "--output", str(target)],
                           env={"CREDITGAUGE_DATABASE_URL": store.url.render_as_string(hide_password=False)})
    assert result.exit_code == 0, result.output
    assert len(target.read_text().splitlines()) == 1 + 2 * 3
    assert "wrote 6 rows" in result.output


def test_export_command_refuses_an_unknown_format() -> None:
    result = runner.invoke(app, ["export", "--format", "xlsx", "--since", "2026-11-01"])
    assert result.exit_code == 2
    assert "use csv, json or focus" in result.output
