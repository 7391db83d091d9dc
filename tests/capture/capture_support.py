"""Shared by the capture tests: keys, the Stack handle and the accounts config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from creditgauge.capture.recorder import Recorder
from creditgauge.config import Config, parse_config
from creditgauge.fakes.upstream import FakeUpstream
from creditgauge.store import schema

OPENAI_KEY = "sk-proj-testkey0123456789abcdefXYZ"
ANTHROPIC_KEY = "sk-ant-api03-testkey0123456789abcdef"
GEMINI_KEY = "AIzaSyTestKey0123456789abcdefghijklmno"


@dataclass
class Stack:
    upstream: FakeUpstream
    cost_upstream: FakeUpstream
    proxy_url: str
    recorder: Recorder
    engine: Engine
    config: Config

    def flush(self) -> None:
        assert self.recorder.writer.flush(10), "events not committed in time"

    def events(self) -> list[dict[str, Any]]:
        self.flush()
        with self.engine.connect() as connection:
            rows = connection.execute(select(schema.usage_events).order_by(schema.usage_events.c.ts)).mappings()
            return [dict(row) for row in rows]

    def base(self, account: str) -> str:
        return f"{self.proxy_url}/{account}"


def stack_config(upstream_url: str, cost_url: str) -> Config:
    return parse_config({"accounts": {
        "openai-main": {"provider": "openai", "base_url": upstream_url},
        "openai-plain": {"provider": "openai", "base_url": upstream_url, "inject_stream_usage": False},
        "anthropic-main": {"provider": "anthropic", "base_url": upstream_url},
        "gemini-main": {"provider": "gemini", "base_url": upstream_url},
        "openrouter-main": {"provider": "openrouter", "base_url": cost_url},
    }}, None)


