"""The Vercel AI SDK (`ai` 6, and 5, JavaScript) with its own OpenTelemetry telemetry, exporting over OTLP/HTTP
protobuf to `creditgauge serve`, as its documentation sets it up: a global tracer provider and
`experimental_telemetry` on each call. Its spans carry no `gen_ai.operation.name` (the provider calls are known by
`ai.operationId`) and name the provider `<provider>.<api>` (`openai.chat`, `anthropic.messages`). Tracked usage
equals what the fake upstream answered: OpenAI chat completions and responses, Anthropic messages, plain and
streaming, and an embedding.

The application is vercel_ai/app.mjs, run by Node.js with the packages pinned in vercel_ai/package-lock.json
(`make test` installs them with `npm ci`); it refuses any connection beyond this machine. The test skips, saying
how to install them, where Node.js or the packages are missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from otlp_support import ANTHROPIC_KEY, OPENAI_KEY, Receiver, expected_tokens, receiver, row_tokens
from sqlalchemy import Engine

APP_DIR = Path(__file__).with_name("vercel_ai")
TOKEN = "otlp-vercel-ai-token-0123456789abcdef"
OPENAI_MEASURES = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")  # no cache writes
ANTHROPIC_MEASURES = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (APP_DIR / "node_modules" / "ai").is_dir(),
    reason="needs Node.js and the AI SDK packages: npm ci --prefix tests/otlp/vercel_ai (make test runs it)")


def run_app(cg: Receiver, tmp_path: Path, *calls: str, sdk: str = "6") -> None:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    environment = {name: os.environ[name] for name in keep if name in os.environ} | {
        "HOME": str(tmp_path), "UPSTREAM": cg.upstream.url, "OPENAI_API_KEY": OPENAI_KEY,
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "CREDITGAUGE_TOKEN": TOKEN, "AI_SDK": sdk}
    result = subprocess.run(["node", str(APP_DIR / "app.mjs"), cg.url, *calls], env=environment, cwd=APP_DIR,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def by_account(cg: Receiver) -> dict[str, dict[str, Any]]:
    return {row["account"]: row for row in cg.usage()["rows"]}


def test_ai_sdk_calls_are_tracked_exactly(engine: Engine, database_url: str, tmp_path: Path) -> None:
    calls = ("openai-chat", "openai-responses:stream", "anthropic", "anthropic:stream")
    with receiver(engine, database_url, tmp_path, token=TOKEN) as cg:
        run_app(cg, tmp_path, *calls)
        rows = by_account(cg)
        openai_sent, anthropic_sent = cg.upstream.sent[:2], cg.upstream.sent[2:]  # in the order of the calls
        # one event a provider call: the ai.generateText / ai.streamText spans around them repeat their usage
        assert sorted(rows) == ["anthropic-main", "openai-main"]
        assert (rows["openai-main"]["requests"], rows["anthropic-main"]["requests"]) == (2, 2)
        assert row_tokens(rows["openai-main"], *OPENAI_MEASURES) == expected_tokens(openai_sent, *OPENAI_MEASURES)
        # Anthropic's uncached input_tokens outweighs its cached parts (a partly cached prompt, FakeUpstream's
        # partly_cached): the input stored is the whole of it only because the SDK reports the whole
        assert all(sent.prompt - sent.cached - sent.cache_write > sent.cached + sent.cache_write
                   for sent in anthropic_sent)
        assert (row_tokens(rows["anthropic-main"], *ANTHROPIC_MEASURES)
                == expected_tokens(anthropic_sent, *ANTHROPIC_MEASURES))
        events = cg.events()
        assert {(event["provider"], event["model"]) for event in events} == {
            ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5")}
        assert {(event["source"], event["endpoint"]) for event in events} == {("otlp", "chat")}
        assert all(event["cost"] is not None for event in events)  # priced as OpenAI's and Anthropic's models
        assert all(event["request_id"] for event in events)  # gen_ai.response.id: a retried export counts once
        assert all(event["tags"] == {"service.name": "storefront", "deployment.environment": "prod"}
                   for event in events)


def test_ai_sdk_embedding_spans_count_their_tokens(engine: Engine, database_url: str, tmp_path: Path) -> None:
    """An embedding's span has no gen_ai attribute at all: its model, provider and tokens are the AI SDK's own."""
    with receiver(engine, database_url, tmp_path, token=TOKEN) as cg:
        run_app(cg, tmp_path, "embed")
        [event] = cg.events()
        assert (event["account"], event["model"], event["endpoint"]) == (
            "openai-main", "text-embedding-3-small", "embeddings")
        assert (event["input_tokens"], event["output_tokens"]) == (cg.upstream.sent[0].prompt, 0)
        assert event["cost"] is not None


def test_ai_sdk_5_anthropic_input_counts_the_cache(engine: Engine, database_url: str, tmp_path: Path) -> None:
    """AI SDK 5 puts Anthropic's uncached input_tokens in gen_ai.usage.input_tokens and its cache reads and writes
    only in the provider metadata it records (the streamed span has the reads as ai.usage.cachedInputTokens): the
    whole input is counted from them, the cache parts too."""
    with receiver(engine, database_url, tmp_path, token=TOKEN) as cg:
        run_app(cg, tmp_path, "anthropic", "anthropic:stream", "openai-responses:stream", sdk="5")
        rows = by_account(cg)
        anthropic_sent, openai_sent = cg.upstream.sent[:2], cg.upstream.sent[2:]
        assert (rows["anthropic-main"]["requests"], rows["openai-main"]["requests"]) == (2, 1)
        assert (row_tokens(rows["anthropic-main"], *ANTHROPIC_MEASURES)
                == expected_tokens(anthropic_sent, *ANTHROPIC_MEASURES))
        assert row_tokens(rows["openai-main"], *OPENAI_MEASURES) == expected_tokens(openai_sent, *OPENAI_MEASURES)
