"""The receiver's contract with exporters: protobuf and JSON, the OTLP answers (partial success, Status), bad input
refused with a clear reason and nothing stored twice or lost, retries idempotent, the server's token required."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from otlp_support import chat_span, otlp_json, receiver, recorded_spans
from sqlalchemy import Engine, text

from creditgauge.capture.otlp_receiver import MAX_BODY_BYTES

PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/v1/traces", content=body, headers=headers, timeout=10)


def test_protobuf_and_json_store_the_same_span_once(engine: Engine, database_url: str, tmp_path: Path) -> None:
    request = recorded_spans(chat_span(**{"gen_ai.response.id": "chatcmpl-1"}))
    with receiver(engine, database_url, tmp_path) as cg:
        first = post(cg.url, request.SerializeToString(), PROTOBUF)
        again = post(cg.url, gzip.compress(request.SerializeToString()), {**PROTOBUF, "content-encoding": "gzip"})
        as_json = post(cg.url, otlp_json(request), JSON)
        assert [first.status_code, again.status_code, as_json.status_code] == [200, 200, 200]
        assert not ExportTraceServiceResponse.FromString(first.content).HasField("partial_success")
        assert as_json.json() == {}
        (event,) = cg.events()  # a retried batch, in either encoding, is the same span: stored once
        assert (event["model"], event["input_tokens"], event["output_tokens"]) == ("gpt-4o-mini-2024-07-18", 120, 30)
        assert (event["account"], event["request_id"], event["endpoint"]) == ("openai-main", "chatcmpl-1", "chat")


def test_bad_spans_are_rejected_alone_with_the_reason(engine: Engine, database_url: str, tmp_path: Path) -> None:
    request = recorded_spans(
        chat_span(),
        chat_span(**{"gen_ai.usage.input_tokens": -5}),
        chat_span(**{"gen_ai.usage.output_tokens": "many"}),
        chat_span(**{"gen_ai.provider.name": None}),
        chat_span(**{"gen_ai.provider.name": "acme-llm"}),  # unknown: kept under its own name
        chat_span(**{"gen_ai.operation.name": "invoke_agent"}),  # sums its children: not a model call
        {"http.method": "GET"},  # not a GenAI span at all
    )
    with receiver(engine, database_url, tmp_path) as cg:
        answer = ExportTraceServiceResponse.FromString(post(cg.url, request.SerializeToString(), PROTOBUF).content)
        assert answer.partial_success.rejected_spans == 3
        message = answer.partial_success.error_message
        assert "gen_ai.usage.input_tokens: -5 is outside 0.." in message
        assert "gen_ai.usage.output_tokens: expected a whole number, got str" in message
        assert "names no provider" in message
        stored = {(event["account"], event["provider"]) for event in cg.events()}
        assert stored == {("openai-main", "openai"), ("acme-llm", "acme-llm")}
        rows = {row["account"]: row for row in cg.usage()["rows"]}
        assert rows["acme-llm"]["requests"] == 1


@pytest.mark.parametrize(("body", "headers", "status", "says"), [
    (b"\x0a\xff\xff\xff", PROTOBUF, 400, "not a valid ExportTraceServiceRequest protobuf"),
    (b'{"resourceSpans": 7}', JSON, 400, "not a valid OTLP JSON"),
    (b"not gzip", {**PROTOBUF, "content-encoding": "gzip"}, 400, "not valid gzip"),
    (b"{}", {"content-type": "text/plain"}, 415, "not an OTLP encoding"),
    (b"{}", {**JSON, "content-encoding": "br"}, 415, "not supported"),
])
def test_unusable_bodies_get_an_otlp_status(engine: Engine, database_url: str, tmp_path: Path, body: bytes,
                                            headers: dict[str, str], status: int, says: str) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        answer = post(cg.url, body, headers)
        assert answer.status_code == status
        if headers["content-type"] == "application/x-protobuf":
            assert says in Status.FromString(answer.content).message
        else:
            assert says in answer.json()["message"]
        assert cg.events() == []


def test_an_oversized_body_is_413_and_stores_nothing(engine: Engine, database_url: str, tmp_path: Path) -> None:
    with receiver(engine, database_url, tmp_path) as cg:
        answer = post(cg.url, b"\x00" * (MAX_BODY_BYTES + 1), PROTOBUF)
        assert answer.status_code == 413
        assert cg.events() == []


def test_the_token_is_required_and_never_kept(engine: Engine, database_url: str, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    token = "otlp-secret-token-0123456789abcdef"
    planted_key = "sk-proj-PLANTEDKEY0123456789abcdefghij"
    request = recorded_spans(chat_span(**{"http.request.header.authorization": f"Bearer {planted_key}",
                                          "enduser.id": "u-42"}))
    caplog.set_level(logging.DEBUG)
    with receiver(engine, database_url, tmp_path, token=token) as cg:
        refused = post(cg.url, request.SerializeToString(), PROTOBUF)
        refused_json = post(cg.url, otlp_json(request), {**JSON, "accept": "text/html"})
        assert (refused.status_code, refused_json.status_code) == (401, 401)
        # an OTLP Status in the request's encoding, as an exporter reads it: never the login page
        assert refused.headers["content-type"] == "application/x-protobuf"
        status = Status.FromString(refused.content)
        assert status.code == 16 and "needs its token" in status.message  # UNAUTHENTICATED
        assert refused_json.json()["code"] == 16 and "needs its token" in refused_json.json()["message"]
        assert cg.events() == []
        bad = post(cg.url, b"\xff", {**PROTOBUF, "authorization": f"Bearer {token}"})
        ok = post(cg.url, request.SerializeToString(), {**PROTOBUF, "authorization": f"Bearer {token}"})
        assert (bad.status_code, ok.status_code) == (400, 200)
        (event,) = cg.events()
        assert event["tags"] == {"service.name": "billing-api", "enduser.id": "u-42"}
        with engine.connect() as connection:
            dump = json.dumps([list(map(str, row)) for table in ("usage_events", "event_tags", "usage_daily")
                               for row in connection.execute(text(f"SELECT * FROM {table}"))])
        outputs = dump + caplog.text + bad.text + ok.text + refused_json.text + json.dumps(cg.usage())
        assert token not in outputs and planted_key not in outputs
