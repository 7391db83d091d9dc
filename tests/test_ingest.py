"""POST /api/v1/events: idempotent by id, exact numbers, per-item 422 errors while the good items are kept."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from creditgauge.config import parse_config
from creditgauge.store import schema
from creditgauge.web.ingest import MAX_BATCH, create_ingest_app

CONFIG = parse_config({"accounts": {
    "openai-main": {"provider": "openai"},
    "or-main": {"provider": "openrouter"},
}}, None)


def item(event_id: str, **fields) -> dict:
    return {"id": event_id, "account": "openai-main", "ts": "2026-11-20T12:00:00Z", "model": "gpt-4o-mini",
            "input_tokens": 1200, "cached_input_tokens": 1000, "output_tokens": 300, **fields}


@pytest.fixture
def client(engine: Engine) -> TestClient:
    return TestClient(create_ingest_app(CONFIG, engine))


def stored(engine: Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        return {row["id"]: dict(row) for row in connection.execute(select(schema.usage_events)).mappings()}


def test_batch_is_priced_stored_and_idempotent(client: TestClient, engine: Engine) -> None:
    batch = {"events": [item("app-1", tags={"team": "search"}),
                        item("app-2", account="or-main", model="openai/gpt-4o", cost="0.012345678"),
                        item("app-3", ts="2026-11-20T13:00:00", endpoint="embeddings", model="text-embedding-3-small",
                             cached_input_tokens=0, output_tokens=0)]}
    first = client.post("/api/v1/events", json=batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 3, "stored": 3, "duplicates": 0, "rejected": 0, "errors": []}
    again = client.post("/api/v1/events", json=batch)
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 3
    rows = stored(engine)
    assert len(rows) == 3
    one = rows["app-1"]
    assert (one["source"], one["provider"], one["price_source"]) == ("ingest", "openai", "genai-prices")
    assert one["cost"] == (200 * Decimal("0.15") + 1000 * Decimal("0.075") + 300 * Decimal("0.6")) / 1_000_000
    assert one["tags"] == {"team": "search"}
    assert (rows["app-2"]["cost"], rows["app-2"]["price_source"]) == (Decimal("0.012345678"), "provider")
    assert rows["app-3"]["ts"].hour == 13  # naive time taken as UTC
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM event_tags")).scalar() == 1


def test_exact_json_numbers_are_kept(client: TestClient, engine: Engine) -> None:
    raw = '{"events": [{"id": "n1", "account": "or-main", "ts": "2026-11-20T12:00:00Z", "cost": 0.10000000000000001}]}'
    answer = client.post("/api/v1/events", content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert stored(engine)["n1"]["cost"] == Decimal("0.100000000")  # exact to the nano the store keeps


def test_bad_items_get_422_with_reasons_and_good_items_are_kept(client: TestClient, engine: Engine) -> None:
    batch = [item("good-1"),
             item("bad-tokens", input_tokens=-5),
             item("bad-account", account="nobody"),
             item("bad-field", input_token=3),
             item("bad-parts", cached_input_tokens=5000),
             {"account": "openai-main"},
             item("good-2", model="mystery-model-9")]
    answer = client.post("/api/v1/events", json=batch)
    assert answer.status_code == 422
    body = answer.json()
    assert (body["accepted"], body["stored"], body["rejected"]) == (2, 2, 5)
    reasons = {(e["index"], e["field"]): e["message"] for e in body["errors"]}
    assert "greater than or equal to 0" in reasons[(1, "input_tokens")]
    assert "no account named 'nobody'" in reasons[(2, "account")]
    assert "unknown field" in reasons[(3, "input_token")]
    assert "exceed input_tokens" in reasons[(4, None)]
    assert (5, "id") in reasons and (5, "ts") in reasons
    rows = stored(engine)
    assert set(rows) == {"good-1", "good-2"}
    assert rows["good-2"]["cost"] is None  # unknown model: unpriced, never $0


@pytest.mark.parametrize("raw, message", [
    ("not json", "body is not JSON"),
    ('{"evts": []}', 'send {"events": [...]}'),
    (json.dumps([{}] * (MAX_BATCH + 1)), "send at most"),
])
def test_malformed_bodies(client: TestClient, raw: str, message: str) -> None:
    answer = client.post("/api/v1/events", content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert message in answer.json()["errors"][0]["message"]


def test_float_cost_refused_as_inexact(client: TestClient) -> None:
    from creditgauge.web.ingest import IngestEvent

    with pytest.raises(ValueError, match="decimal string"):
        IngestEvent.model_validate(item("f", cost=0.5))


def test_no_key_shaped_field_is_accepted_or_logged(client: TestClient, engine: Engine,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = "sk-proj-ingestleak000000000000"
    answer = client.post("/api/v1/events", json=[item("k1", api_key=key)])
    assert answer.status_code == 422 and key not in answer.text
    assert stored(engine) == {}
    assert key not in caplog.text
