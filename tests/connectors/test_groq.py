"""GroqConnector against FakeGroq through the real sync engine, stored on SQLite and PostgreSQL; and the
fake's chat completions."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from creditgauge.config import Config, parse_config
from creditgauge.connectors.groq import GroqConnector, ProbeName, parse_duration
from creditgauge.domain import Capability, Window
from creditgauge.errors import AuthError, ContractError
from creditgauge.fakes.groq import FakeGroq
from creditgauge.http import RetryPolicy
from creditgauge.store import schema
from creditgauge.sync import SyncReport, run_sync
from support import assert_found_nowhere, use_then_revoke

KEY = "gsk_testkey0123456789abcdef"
CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "groq"
WINDOW = Window.days(date(2026, 8, 1), date(2026, 8, 3))
Sync = Callable[..., SyncReport]


@pytest.fixture
def fake() -> Iterator[FakeGroq]:
    with FakeGroq(keys={KEY}, ratelimit_on_models=True) as server:
        yield server


def config_for(fake: FakeGroq) -> Config:
    return parse_config({"accounts": {"groq": {"provider": "groq", "key_env": "GROQ_API_KEY",
                                               "base_url": fake.url}}}, None)


@pytest.fixture
def sync(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Sync:
    """The real sync engine over one Groq account bound to the fake; `probe` goes to GroqConnector.build."""

    def run(fake: FakeGroq, key: str = KEY, probe: ProbeName = "models") -> SyncReport:
        monkeypatch.setenv("GROQ_API_KEY", key)
        return run_sync(config_for(fake), engine, client_options={"probe": probe})

    return run


def fetch(fake: FakeGroq, key: str = KEY) -> object:
    """The connector's task called directly, to see the exception it raises."""
    connector = GroqConnector.build(config_for(fake).account("groq"), key, retry=RetryPolicy(base_delay=0.01))

    async def run() -> object:
        try:
            return await connector.tasks()[0].fetch(WINDOW)
        finally:
            await connector.aclose()

    return asyncio.run(run())


def limits(engine: Engine) -> dict[str, tuple[Decimal, str, dict]]:
    with engine.connect() as connection:
        rows = connection.execute(select(schema.limit_snapshots)).all()
    return {row.name: (row.amount, row.currency, row.details) for row in rows}


def test_groq_declares_limits_only_and_says_spend_comes_from_tracking() -> None:
    assert GroqConnector.capabilities == frozenset({Capability.LIMITS})
    assert "tracking" in GroqConnector.notes and "proxy" in GroqConnector.notes


@pytest.mark.parametrize(("text", "seconds"), [
    ("6m0s", "360"), ("2m59.56s", "179.56"), ("7.66s", "7.66"), ("12ms", "0.012"), ("1h0m1s", "3601"), ("0s", "0"),
])
def test_go_durations_parse_exactly(text: str, seconds: str) -> None:
    assert parse_duration(text) == Decimal(seconds)


def test_rate_limit_headers_become_limit_snapshots(engine: Engine, fake: FakeGroq, sync: Sync) -> None:
    fake.remaining_requests, fake.remaining_tokens = 14370, 11480

    sync(fake)

    stored = limits(engine)
    requests_amount, requests_unit, requests_details = stored["requests_per_day"]
    assert (requests_amount, requests_unit) == (Decimal(14400), "REQUESTS")
    assert requests_details["remaining"] == "14370"
    assert requests_details["reset_seconds"] == "180"  # 30 requests used of 14400 a day: "3m0s"
    tokens_amount, tokens_unit, tokens_details = stored["tokens_per_minute"]
    assert (tokens_amount, tokens_unit, tokens_details["remaining"]) == (Decimal(12000), "TOKENS", "11480")
    assert Decimal(0) < Decimal(tokens_details["reset_seconds"]) <= 60
    assert fake.requests[0].method == "GET" and fake.requests[0].path == "/openai/v1/models"


def test_no_headers_on_the_models_list_means_no_facts_not_an_error(engine: Engine, sync: Sync) -> None:
    with FakeGroq(keys={KEY}) as fake:  # the documented behaviour: headers on chat completions only
        sync(fake)

    assert limits(engine) == {}


def test_the_chat_probe_reads_the_headers_from_a_one_token_completion(engine: Engine, sync: Sync) -> None:
    with FakeGroq(keys={KEY}) as fake:
        sync(fake, probe="chat")
        probe = json.loads(fake.requests[0].body)

    assert probe["max_tokens"] == 1
    assert set(limits(engine)) == {"requests_per_day", "tokens_per_minute"}
    assert limits(engine)["requests_per_day"][2]["remaining"] == "14399"


def test_a_refused_key_says_which_key_is_needed(fake: FakeGroq) -> None:
    with pytest.raises(AuthError) as caught:
        fetch(fake, key="gsk_wrongkey000000")
    message = str(caught.value)
    assert "HTTP 401" in message and "Invalid API Key" in message
    assert "GROQ_API_KEY" in message and "Groq API key" in message


def test_rate_limited_once_then_served(engine: Engine, fake: FakeGroq, sync: Sync) -> None:
    body = json.loads((CONTRACTS / "groq_error_429.json").read_text())
    fake.fail(429, body, headers={"retry-after": "0", "x-ratelimit-remaining-tokens": "0"})

    sync(fake)

    assert fake.count("/models") == 2
    assert limits(engine)["tokens_per_minute"][2]["remaining"] == "12000"


def test_unknown_extra_headers_and_fields_are_accepted(engine: Engine, fake: FakeGroq, sync: Sync) -> None:
    headers = fake.ratelimit_headers()
    headers["x-ratelimit-limit-audio-seconds"] = "7200"
    fake.fail(200, {"object": "list", "data": [], "next": None}, headers=headers)

    sync(fake)

    assert set(limits(engine)) == {"requests_per_day", "tokens_per_minute"}


@pytest.mark.parametrize(("header", "value"), [
    ("x-ratelimit-limit-requests", None),  # remaining and reset without the limit they belong to
    ("x-ratelimit-limit-tokens", "12k"),
    ("x-ratelimit-remaining-requests", "-1"),
    ("x-ratelimit-reset-tokens", "soon"),
])
def test_a_broken_header_is_a_contract_error_and_stores_nothing(
    engine: Engine, fake: FakeGroq, sync: Sync, header: str, value: str | None
) -> None:
    headers = fake.ratelimit_headers()
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    fake.fail(200, {"object": "list", "data": []}, headers=headers, times=2)

    with pytest.raises(ContractError, match="groq GET /openai/v1/models"):
        fetch(fake)
    report = sync(fake)

    assert report.status == "failed" and "groq GET /openai/v1/models" in (report.failures[0].error or "")
    assert limits(engine) == {}


def test_the_key_is_found_nowhere(
    engine: Engine, fake: FakeGroq, sync: Sync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "gsk_planted7d3e9a1c5b2f8e4d"
    failed, error = use_then_revoke(fake, planted, KEY, sync, fetch)
    dump = assert_found_nowhere(planted, engine, str(error), str(failed.as_dict()), caplog.text)
    assert "tokens_per_minute" in dump and "HTTP 401" in dump


# -- the fake's chat completions, which the capture tests reuse ---------------------------------------------------


def test_chat_completion_usage_and_headers(fake: FakeGroq) -> None:
    fake.cached_tokens = 8
    response = httpx.post(f"{fake.url}/openai/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                          json={"model": "llama-3.3-70b-versatile", "messages": [{"role": "user", "content": "hi"}]})

    body = response.json()
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": min(8, usage["prompt_tokens"])}
    assert body["x_groq"]["id"].startswith("req_")
    assert int(response.headers["x-ratelimit-remaining-requests"]) == 14399


def test_the_stream_ends_with_x_groq_usage_and_optional_top_level_usage(fake: FakeGroq) -> None:
    fake.reasoning_tokens = 5
    request = {"model": "openai/gpt-oss-120b", "messages": [{"role": "user", "content": "hi"}], "stream": True,
               "stream_options": {"include_usage": True}}
    text = httpx.post(f"{fake.url}/openai/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json=request).text

    events = [line.removeprefix("data: ") for line in text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    final = chunks[-1]
    assert final["x_groq"]["usage"] == final["usage"]
    assert final["x_groq"]["usage"]["completion_tokens_details"] == {"reasoning_tokens": 5}
    assert chunks[0]["x_groq"] == {"id": final["x_groq"]["id"]}
    assert all("x_groq" not in chunk for chunk in chunks[1:-1])
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Your order ships tomorrow."


def test_exhausted_tokens_get_the_documented_429(fake: FakeGroq) -> None:
    fake.remaining_tokens = 1
    response = httpx.post(f"{fake.url}/openai/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                          json={"model": "llama-3.3-70b-versatile", "messages": [{"role": "user", "content": "hi"}]})

    assert response.status_code == 429
    assert response.json()["error"]["type"] == "tokens"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-ratelimit-remaining-tokens"] == "1"
