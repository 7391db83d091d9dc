"""POST /api/v1/events: idempotent by id, exact numbers, per-item 422 errors while the good items are kept; poison
values, bodies that are no batch and bodies over the limit are 4xx, never a 500, and lose nothing stored."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from creditgauge.config import parse_config
from creditgauge.pricing import Pricer
from creditgauge.service.events import store_isolating
from creditgauge.store import schema
from creditgauge.store.engine import open_engine
from creditgauge.web import create_app
from creditgauge.web.body_limit import SMALL_BODY_BYTES
from creditgauge.web.ingest import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    IngestEvent,
    create_ingest_app,
    to_usage_event,
)

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
    (b"not json", "body is not JSON"),
    (b'{"evts": []}', 'send {"events": [...]}'),
    (json.dumps([{}] * (MAX_BATCH + 1)).encode(), "send at most"),
    (json.dumps([item("latin-1", model="caf\u00e9")]).encode("utf-8").replace(b"\\u00e9", b"\xe9"), "not UTF-8"),
    ("[{}]".encode("utf-16"), "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'[{"id": "big", "input_tokens": ' + b"9" * 5000 + b"}]", "number that cannot be read"),
])
def test_a_body_that_is_no_batch_is_one_422_and_stores_nothing(client: TestClient, engine: Engine, raw: bytes,
                                                                message: str) -> None:
    answer = client.post("/api/v1/events", content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    problem = answer.json()["errors"][0]
    assert message in problem["message"] and problem["index"] is None
    assert stored(engine) == {}


POISON = {  # item fields, and the field the answer must name
    "tokens 1e30": ({"input_tokens": Decimal("1e30")}, "input_tokens"),
    "tokens 2^63": ({"output_tokens": 2**63}, "output_tokens"),
    "requests 2^40": ({"requests": 2**40}, "requests"),
    "latency 2^40": ({"latency_ms": 2**40}, "latency_ms"),
    "cost 1e12": ({"account": "or-main", "cost": "1e12"}, "cost"),
    "cost 1e400": ({"account": "or-main", "cost": Decimal("1e400")}, "cost"),
    "cost NaN": ({"account": "or-main", "cost": "NaN"}, "cost"),
    "cost Infinity": ({"account": "or-main", "cost": "Infinity"}, "cost"),
    "NUL in model": ({"model": "gpt\x004o"}, "model"),
    "NUL in a tag": ({"tags": {"team": "a\x00b"}}, "tags.team"),
    "lone surrogate": ({"request_id": "req-\ud800"}, "request_id"),
    "model over 200": ({"model": "m" * 201}, "model"),
    "request id over 200": ({"request_id": "r" * 201}, "request_id"),
    "deep nesting": ({"tags": {"team": json.loads("[" * 500 + "]" * 500)}}, "tags.team"),
    "year 1 with an offset": ({"ts": "0001-01-01T00:00:00+01:00"}, "ts"),
    "year 9999 behind UTC": ({"ts": "9999-12-31T23:00:00-05:00"}, "ts"),
    "far future": ({"ts": "2400-01-01T00:00:00Z"}, "ts"),
    "too many tags": ({"tags": {f"t{n}": "v" for n in range(60)}}, "tags"),
}


@pytest.mark.parametrize("fields, field", list(POISON.values()), ids=list(POISON))
def test_one_poison_item_is_refused_by_name_and_the_rest_of_the_batch_is_stored(
        client: TestClient, engine: Engine, fields: dict, field: str) -> None:
    raw = json.dumps([item("good-1"), item("poison", **fields), item("good-2")], default=str,
                     ensure_ascii=True).replace('"1E+400"', "1E+400").replace('"1E+30"', "1E+30")
    answer = client.post("/api/v1/events", content=raw.encode(), headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["accepted"], body["stored"], body["rejected"]) == (2, 2, 1)
    assert {(e["index"], e["id"]) for e in body["errors"]} == {(1, "poison")}
    assert field in {e["field"] for e in body["errors"]}, body["errors"]
    assert set(stored(engine)) == {"good-1", "good-2"}
    later = client.post("/api/v1/events", json=[item("after")])  # nothing is stuck behind the poison
    assert later.status_code == 200 and "after" in stored(engine)


@pytest.mark.parametrize("field, literal", [
    *[(field, literal) for field in ("input_tokens", "cost") for literal in ("Infinity", "-Infinity", "NaN", "1e400")],
    ("cost", "-0.5"), ("input_tokens", "1.5"), ("input_tokens", "-1"),
])
def test_non_finite_and_inexact_json_numbers_are_refused_by_name(client: TestClient, engine: Engine, literal: str,
                                                                 field: str) -> None:
    poison = json.dumps(item("poison", account="or-main", **{field: 7}))
    poison = poison.replace(f'"{field}": 7', f'"{field}": {literal}')
    answer = client.post("/api/v1/events", content=f'[{json.dumps(item("good"))}, {poison}]'.encode(),
                         headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert {(e["index"], e["field"]) for e in answer.json()["errors"]} == {(1, field)}
    assert set(stored(engine)) == {"good"}


def test_an_id_repeated_in_one_batch_is_stored_and_counted_once(client: TestClient, engine: Engine) -> None:
    answer = client.post("/api/v1/events", json=[item("twice"), item("twice"), item("once", input_tokens=10,
                                                                                      cached_input_tokens=0)])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 3, "stored": 2, "duplicates": 1, "rejected": 0, "errors": []}
    with engine.connect() as connection:
        daily = connection.execute(text("SELECT sum(events), sum(input_tokens) FROM usage_daily")).one()
    assert tuple(daily) == (2, 1200 + 10)  # the rollup the reports read agrees with the events stored


def test_an_event_the_database_refuses_costs_only_itself(engine: Engine) -> None:
    """Values validation did not foresee: the batch is halved until the refused event stands alone."""
    pricer = Pricer.from_config(CONFIG)
    events = [to_usage_event(IngestEvent.model_validate(item(f"e{n}")), "openai", pricer) for n in range(5)]
    events[3].input_tokens = 2**64  # past any 64-bit column: both databases refuse it
    count, refused = store_isolating(engine, events)
    assert (count, [event.id for event in refused]) == (4, ["e3"])
    assert set(stored(engine)) == {"e0", "e1", "e2", "e4"}


def test_a_database_that_is_down_is_a_503_and_the_batch_can_be_sent_again(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'gone.db'}")
    client = TestClient(create_app(CONFIG, engine, scheduler=False), base_url="http://127.0.0.1")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE usage_events"))
    answer = client.post("/api/v1/events", json=[item("a")])
    assert answer.status_code == 503 and "nothing was stored" in answer.json()["error"]


def test_a_body_over_the_limit_is_413(client: TestClient, engine: Engine) -> None:
    big = b"[" + b" " * MAX_BODY_BYTES + b"]"
    assert client.post("/api/v1/events", content=big, headers={"content-type": "application/json"}).status_code \
        == 413
    def chunks():  # no content-length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 65_536 + 64):
            yield b" " * 65_536

    answer = client.post("/api/v1/events", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "smaller batches" in answer.json()["error"]
    assert stored(engine) == {}


def test_other_posts_take_small_bodies_only(engine: Engine) -> None:
    client = TestClient(create_app(CONFIG, engine, scheduler=False), base_url="http://127.0.0.1")
    ledger = {"account": "openai-main", "kind": "deposit", "amount": "5.00", "note": "x" * SMALL_BODY_BYTES}
    answer = client.post("/api/v1/ledger", json=ledger)
    assert answer.status_code == 413 and "over 1,048,576 bytes" in answer.json()["error"]
    assert client.post("/api/v1/events", json=[item("fits")]).status_code == 200


def test_float_cost_refused_as_inexact(client: TestClient) -> None:
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


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_a_body_that_is_not_utf8_is_a_422_on_the_whole_server(engine: Engine, content_type: str) -> None:
    token = "cg-ingest-token-0123456789abcdef"
    client = TestClient(create_app(CONFIG, engine, token=token, scheduler=False), base_url="http://127.0.0.1",
                        raise_server_exceptions=False)
    latin1 = json.dumps([item("caf\u00e9", model="caf\u00e9")]).encode("utf-8").replace(b"\\u00e9", b"\xe9")
    for body in (latin1, b"\xff\xfe[\x00{\x00}\x00]\x00", b'{"events": [' + b"\xc3\x28" + b"]}"):
        answer = client.post("/api/v1/events", content=body,
                             headers={"content-type": content_type, "authorization": f"Bearer {token}"})
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()["errors"]
        assert "not UTF-8" in problem["message"] and "send JSON encoded as UTF-8" in problem["message"]
    assert stored(engine) == {}
