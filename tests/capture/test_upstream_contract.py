"""The fake inference upstream answers in the documented shapes: its bodies and stream events validate against the
contracts kept in tests/capture/contracts (copies of provider-apis schemas; CompletionUsage and ResponseUsage taken
from the OpenAI OpenAPI subset). When ../shared/provider-apis is present, the copies must equal the originals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from creditgauge.fakes.upstream import FakeUpstream
from shared_paths import PROVIDER_APIS

CONTRACTS = Path(__file__).parent / "contracts"
OPENAI_COMPONENTS = ("CompletionUsage", "ResponseUsage")


def validate(schema_name: str, body: Any) -> None:
    schema = json.loads((CONTRACTS / f"{schema_name}.schema.json").read_text(encoding="utf-8"))
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{schema_name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(report_cost=False)
    upstream.start()
    yield upstream
    upstream.stop()


def post(fake: FakeUpstream, path: str, body: dict[str, Any]) -> httpx.Response:
    answer = httpx.post(fake.url + path, json=body)
    assert answer.status_code == 200, answer.text
    return answer


def test_openai_chat_json_and_stream(fake: FakeUpstream) -> None:
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
    validate("CompletionUsage", post(fake, "/v1/chat/completions", body).json()["usage"])
    events = sse_events(post(fake, "/v1/chat/completions", {**body, "stream": True,
                                                              "stream_options": {"include_usage": True}}).text)
    assert all(e["usage"] is None for e in events[:-1]) and events[-1]["choices"] == []
    validate("CompletionUsage", events[-1]["usage"])
    plain = post(fake, "/v1/chat/completions", {**body, "stream": True}).text
    assert all("usage" not in e for e in sse_events(plain)) and plain.endswith("data: [DONE]\n\n")


def test_openai_completions_and_embeddings(fake: FakeUpstream) -> None:
    validate("CompletionUsage", post(fake, "/v1/completions", {"model": "m", "prompt": "hi"}).json()["usage"])
    usage = post(fake, "/v1/embeddings", {"model": "text-embedding-3-small", "input": "hi"}).json()["usage"]
    assert set(usage) == {"prompt_tokens", "total_tokens"}


def test_responses_json_and_stream(fake: FakeUpstream) -> None:
    validate("ResponseUsage", post(fake, "/v1/responses", {"model": "gpt-4.1", "input": "hi"}).json()["usage"])
    events = sse_events(post(fake, "/v1/responses", {"model": "gpt-4.1", "input": "hi", "stream": True}).text)
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    validate("ResponseUsage", events[-1]["response"]["usage"])


def test_anthropic_message_json_and_stream(fake: FakeUpstream) -> None:
    body = {"model": "claude-sonnet-4-6", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    validate("anthropic_message", post(fake, "/v1/messages", body).json())
    events = sse_events(post(fake, "/v1/messages", {**body, "stream": True}).text)
    by_type = {e["type"]: e for e in events}
    validate("anthropic_stream_message_start", by_type["message_start"])
    validate("anthropic_stream_message_delta", by_type["message_delta"])
    assert events[-1]["type"] == "message_stop"


def test_gemini_generate_content(fake: FakeUpstream) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    validate("gemini_generate_content", post(fake, "/v1beta/models/gemini-2.5-flash:generateContent", body).json())
    for event in sse_events(post(fake, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", body).text):
        validate("gemini_generate_content", event)


def test_openrouter_style_usage_with_cost() -> None:
    with FakeUpstream(report_cost=True) as upstream:
        answer = httpx.post(upstream.url + "/v1/chat/completions", json={"model": "m", "messages": []}).json()
    validate("openrouter_chat_usage", {"usage": answer["usage"]})
    validate("CompletionUsage", answer["usage"])


@pytest.mark.parametrize("name", sorted(p.name for p in CONTRACTS.iterdir() if not p.name.startswith(
    OPENAI_COMPONENTS)))
def test_local_copies_equal_the_shared_contract(name: str) -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip("../shared/provider-apis is absent: the local copies are the contract")
    folder = "schemas" if name.endswith(".schema.json") else "examples"
    assert (CONTRACTS / name).read_bytes() == (PROVIDER_APIS / folder / name).read_bytes()


@pytest.mark.parametrize("component", OPENAI_COMPONENTS)
def test_openai_components_equal_the_shared_spec(component: str) -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip("../shared/provider-apis is absent: the local copies are the contract")
    spec = yaml.safe_load((PROVIDER_APIS / "openai-openapi-subset.yaml").read_text(encoding="utf-8"))
    local = json.loads((CONTRACTS / f"{component}.schema.json").read_text(encoding="utf-8"))
    local.pop("$schema"), local.pop("$comment")
    assert local == spec["components"]["schemas"][component]
