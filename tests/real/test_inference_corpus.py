"""Every recorded inference exchange in tests/real/inference, replayed through the real proxy: the official SDK
(or plain HTTP for Gemini, whose SDK is not a dependency) calls the proxy, the proxy forwards to a local server that
answers with the recorded bytes, and the event stored must carry exactly the tokens, tool calls and cost the
payload says. Each exchange has a sidecar NAME.provenance.json: where it was recorded (public repository, path,
commit, date), how to call it, and the expected figures (read off the payload by hand)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import genai_prices
import httpx
import openai
import pytest
from replay_support import SDK_BASE, Replay, replaying
from sqlalchemy import Engine

from creditgauge.providers.registry import catalog_id

CORPUS = Path(__file__).parent / "inference"
SIDECARS = sorted(CORPUS.glob("*.provenance.json"))
KEY = "sk-corpus-replay-0123456789abcdef"
CODE_INTERPRETER_FEE = Decimal("0.03")  # OpenAI's published price per container, set as the account's fee
CATALOG_FEES = {"web_search": Decimal("0.01"), "file_search": Decimal("0.0025")}  # per call ($10, $2.50 / 1000)
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")  # recorded models


@pytest.fixture
def replay(engine: Engine, tmp_path: Path) -> Iterator[Replay]:
    with replaying(engine, tmp_path, {"openai-corpus": {"code_interpreter": str(CODE_INTERPRETER_FEE)}}) as stack:
        yield stack


PROMPT = [{"role": "user", "content": "(recorded prompt not kept)"}]


def _call(replay: Replay, sidecar: dict[str, Any], exchange: dict[str, Any]) -> None:
    """Make the recorded call through the proxy with the provider's official SDK, reading the answer whole."""
    provider = sidecar["account"]
    base = f"{replay.proxy_url}/{provider}-corpus{SDK_BASE[provider]}"
    request, method = dict(exchange["request"]), exchange["method"]
    if provider == "gemini":
        path = exchange["path"]
        answer = httpx.post(f"{replay.proxy_url}/gemini-corpus{path}", params=exchange["query"],
                            json={"contents": [{"role": "user", "parts": [{"text": "(recorded)"}]}]},
                            headers={"x-goog-api-key": KEY})
        assert answer.status_code == 200
        return
    if provider == "anthropic":
        client = anthropic.Anthropic(base_url=base, api_key=KEY, max_retries=0)
        answer = client.beta.messages.create(messages=PROMPT, **request)  # type: ignore[call-overload]
        if request.get("stream"):
            list(answer)
        return
    client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0)
    if method == "GET":  # a background response polled, or its stream resumed
        response_id = exchange["path"].rsplit("/", 1)[1]
        if exchange["query"].get("stream") == "true":
            list(client.responses.retrieve(response_id, stream=True,
                                           starting_after=int(exchange["query"]["starting_after"])))
        else:
            client.responses.retrieve(response_id)
        return
    if exchange["path"].endswith("/responses"):
        answer = client.responses.create(input="(recorded prompt not kept)", **request)
    else:
        answer = client.chat.completions.create(messages=PROMPT, **request)  # type: ignore[arg-type]
    if request.get("stream"):
        list(answer)


def _catalog_cost(expected: dict[str, Any], provider: str, ts: datetime) -> Decimal:
    """The price genai-prices itself computes for the expected tokens, plus the per-call fees."""
    usage = genai_prices.Usage(
        input_tokens=expected["input_tokens"], cache_read_tokens=expected["cached_input_tokens"],
        cache_write_tokens=expected["cache_write_tokens"], output_tokens=expected["output_tokens"],
        output_reasoning_tokens=expected["reasoning_tokens"])
    tier = expected["service_tier"]
    context = {"service_tier": tier} if tier and provider in ("openai", "gemini") else None
    tokens = genai_prices.calc_price(usage, expected["model"], provider_id=catalog_id(provider),
                                     genai_request_timestamp=ts, price_context=context).total_price
    fees = {**CATALOG_FEES, "code_interpreter": CODE_INTERPRETER_FEE}
    return tokens + sum((fees[name] * count for name, count in expected["tool_calls"].items()), Decimal(0))


def test_the_corpus_holds_enough_exchanges_each_with_its_provenance() -> None:
    assert len(SIDECARS) >= 15
    for path in SIDECARS:
        sidecar = json.loads(path.read_text())
        source = sidecar["source"]
        assert source["repository"] and source["path"] and source["commit"] and source["retrieved"], path
        for exchange in sidecar["exchanges"]:
            body = (CORPUS / exchange["file"]).read_text()
            assert KEY not in body and "sk-proj-" not in body and "sk-ant-api" not in body, exchange["file"]


@pytest.mark.parametrize("sidecar_path", SIDECARS, ids=[p.name.split(".")[0] for p in SIDECARS])
def test_recorded_exchange_through_the_proxy(replay: Replay, sidecar_path: Path) -> None:
    sidecar = json.loads(sidecar_path.read_text())
    for exchange in sidecar["exchanges"]:
        content_type = exchange["content_type"]
        replay.upstream.queue.append((exchange["status"], content_type, (CORPUS / exchange["file"]).read_bytes()))
        _call(replay, sidecar, exchange)
    assert not replay.upstream.queue
    provider, expected = sidecar["account"], sidecar["expected"]
    events = replay.events(f"{provider}-corpus")
    assert len(events) == expected["events"], events  # a polled or resumed answer is recorded once
    event = events[0]
    figures = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
    assert {name: event[name] for name in figures} == {name: expected[name] for name in figures}
    assert event["model"] == expected["model"]
    assert (event["extra"] or {}).get("tool_calls", {}) == expected["tool_calls"]
    cost = expected["cost"]
    if cost == "unpriced":
        assert event["cost"] is None and event["price_source"] is None  # unknown, never $0
    elif cost.startswith("provider:"):
        assert event["cost"] == Decimal(cost.removeprefix("provider:")) and event["price_source"] == "provider"
    else:
        assert event["cost"] == _catalog_cost(expected, provider, event["ts"]), sidecar_path.name
        if expected["tool_calls"]:
            lines = {name: Decimal(value) for name, value in event["extra"]["line_items"].items()}
            assert sum(lines.values()) == event["cost"] and set(lines) == {"tokens", *expected["tool_calls"]}
