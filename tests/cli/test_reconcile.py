"""`creditgauge reconcile`: a table with flags and --json with the same rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from creditgauge.cli import app
from creditgauge.clock import FrozenClock, use_clock
from creditgauge.domain import CostBucket, UsageEvent, day_start
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_events
from creditgauge.store.facts import store_facts

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)


def test_table_and_json(tmp_path: Path, database_url: str):
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{database_url}"\n[accounts.oa]\nprovider = "openai"\nkey_env = "K"\n'
                    '[accounts.groq]\nprovider = "groq"\nkey_env = "G"\n')
    engine = open_engine(database_url)
    for offset, (reported, tracked) in enumerate([("10.00", "10.00"), ("30.00", "12.00"), ("5.00", "9.00")]):
        start = day_start(date(2026, 3, 10) + timedelta(days=offset))
        store_facts(engine, account="oa", source="costs", window=None,
                    facts=[CostBucket(start, start + timedelta(days=1), Decimal(reported), "USD", model="gpt-4o")])
        store_events(engine, [UsageEvent(id=f"e{offset}", account="oa", provider="openai",
                                         ts=start + timedelta(hours=3), model="gpt-4o",
                                         endpoint="/v1/chat/completions", source="proxy", cost=Decimal(tracked))])
    engine.dispose()

    with use_clock(FrozenClock(NOW)):
        as_json = CliRunner().invoke(app, ["--config", str(path), "reconcile", "--since", "2026-03-01", "--json"])
        table = CliRunner().invoke(app, ["--config", str(path), "reconcile", "--since", "2026-03-01"],
                                   env={"COLUMNS": "200"})
        as_csv = CliRunner().invoke(app, ["--config", str(path), "reconcile", "--since", "2026-03-01", "--csv"])

    payload = json.loads(as_json.stdout)
    assert [(r["day"], r["difference"], r["direction"]) for r in payload["rows"]] == [
        ("2026-03-10", "0.00", None), ("2026-03-11", "18.00", "reported_above_tracked"),
        ("2026-03-12", "-4.00", "tracked_above_reported")]
    assert payload["flagged"] == 2 and payload["rows"][1]["ratio"] == "0.6000"
    assert payload["rows"][1]["breakdown"] == [{"dimension": "model", "value": "gpt-4o", "reported": "30.00",
                                               "tracked": "12.00", "difference": "18.00"}]
    assert "groq" in payload["skipped"]
    assert table.exit_code == 0
    for text in ("reported above tracked", "tracked above reported", "60.0%", "untracked traffic, a leaked key",
                 "model gpt-4o +18.00", "groq: not compared"):
        assert text in table.stdout
    csv_rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["day"], r["reported"], r["tracked"], r["difference"], r["direction"]) for r in csv_rows] == [
        (r["day"], r["reported"], r["tracked"], r["difference"], r["direction"] or "") for r in payload["rows"]]
