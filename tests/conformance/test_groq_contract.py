"""FakeGroq's responses (chat completion, stream chunks, 429 body, rate-limit headers) validate against the Groq
contract kept in tests/contracts/groq and, when ../shared/provider-apis is present, against the originals there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator

from creditgauge.fakes.groq import FakeGroq
from shared_paths import PROVIDER_APIS

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "groq"
SCHEMAS = ("groq_chat_completion", "groq_stream_final_chunk", "groq_error_429")
CHAT = "/openai/v1/chat/completions"
REQUEST = {"model": "llama-3.3-70b-versatile", "messages": [{"role": "user", "content": "Where is my order?"}]}


def schema_dirs() -> list[Path]:
    return [CONTRACTS, PROVIDER_APIS / "schemas"] if PROVIDER_APIS.exists() else [CONTRACTS]


def validate(body: object, name: str) -> None:
    for directory in schema_dirs():
        schema = json.loads((directory / f"{name}.schema.json").read_text())
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)


def example(name: str) -> dict:
    return json.loads((CONTRACTS / f"{name}.json").read_text())


@pytest.fixture
def fake() -> Iterator[FakeGroq]:
    with FakeGroq(cached_tokens=4) as server:
        yield server


def test_a_chat_completion_has_exactly_the_documented_fields(fake: FakeGroq) -> None:
    body = httpx.post(f"{fake.url}{CHAT}", json=REQUEST).json()
    validate(body, "groq_chat_completion")
    documented = example("groq_chat_completion")
    assert set(body) == set(documented)
    assert set(body["usage"]) == set(documented["usage"])
    assert set(body["x_groq"]) == set(documented["x_groq"])
    assert set(body["choices"][0]) == set(documented["choices"][0])


@pytest.mark.parametrize("include_usage", [False, True])
def test_every_stream_chunk_validates_and_the_last_matches_the_example(fake: FakeGroq, include_usage: bool) -> None:
    fake.cached_tokens, fake.reasoning_tokens = 0, 12
    text = httpx.post(f"{fake.url}{CHAT}", json={**REQUEST, "stream": True,
                                                 "stream_options": {"include_usage": include_usage}}).text
    chunks = [json.loads(line.removeprefix("data: ")) for line in text.split("\n\n") if line and "[DONE]" not in line]
    for chunk in chunks:
        validate(chunk, "groq_stream_final_chunk")
    documented = example("groq_stream_final_chunk")
    final = chunks[-1]
    assert set(final) - {"usage"} == set(documented)
    assert ("usage" in final) is include_usage
    assert set(final["x_groq"]) == set(documented["x_groq"])
    assert set(final["x_groq"]["usage"]) == set(documented["x_groq"]["usage"])


def test_the_429_body_and_headers_are_the_documented_ones(fake: FakeGroq) -> None:
    fake.remaining_tokens = 0
    response = httpx.post(f"{fake.url}{CHAT}", json=REQUEST)
    assert response.status_code == 429
    validate(response.json(), "groq_error_429")
    assert set(response.json()["error"]) == set(example("groq_error_429")["error"])
    assert "Please try again in" in response.json()["error"]["message"]
    documented = set(example("groq_ratelimit_headers"))
    assert documented <= set(response.headers)


def test_a_success_carries_every_rate_limit_header_but_retry_after(fake: FakeGroq) -> None:
    response = httpx.post(f"{fake.url}{CHAT}", json=REQUEST)
    documented = set(example("groq_ratelimit_headers")) - {"retry-after"}
    assert documented <= set(response.headers)
    assert "retry-after" not in response.headers


def test_the_local_copies_match_the_shared_contract() -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: only the copies in tests/contracts are checked")
    for name in (*SCHEMAS, "groq_ratelimit_headers"):
        assert (CONTRACTS / f"{name}.json").read_text() == (PROVIDER_APIS / "examples" / f"{name}.json").read_text()
    for name in SCHEMAS:
        assert (CONTRACTS / f"{name}.schema.json").read_text() == (
            PROVIDER_APIS / "schemas" / f"{name}.schema.json"
        ).read_text()
