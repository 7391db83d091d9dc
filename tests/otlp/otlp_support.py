"""The OTLP receiver on a real server: `creditgauge serve`'s app under uvicorn on a free port, the fake upstream
the SDKs call, and `usage --source tracked` read through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from creditgauge.cli import app as cli
from creditgauge.config import load_config
from creditgauge.fakes.upstream import FakeUpstream
from creditgauge.store import schema
from creditgauge.web import create_app
from web.live_server import serving

OPENAI_KEY = "sk-proj-otlptest0123456789abcdefXYZ"
ANTHROPIC_KEY = "sk-ant-api03-otlptest0123456789abcdef"


@dataclass
class Receiver:
    url: str
    app: FastAPI
    engine: Engine
    config_path: Path
    upstream: FakeUpstream

    def flush(self) -> None:
        receiver = getattr(self.app.state, "otlp", None)
        if receiver is not None:
            assert receiver.recorder.writer.flush(10), "OTLP events not committed in time"

    def usage(self, *by: str) -> dict[str, Any]:
        self.flush()
        since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        args = ["--config", str(self.config_path), "usage", "--since", since, "--source", "tracked", "--json"]
        if by:
            args += ["--by", ",".join(by)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    def events(self) -> list[dict[str, Any]]:
        self.flush()
        with self.engine.connect() as connection:
            rows = connection.execute(select(schema.usage_events).order_by(schema.usage_events.c.ts)).mappings()
            return [dict(row) for row in rows]


def write_config(path: Path, database_url: str, upstream_url: str, extra: str = "") -> Path:
    path.write_text(
        f'database_url = "{database_url}"\n'
        f'[accounts.openai-main]\nprovider = "openai"\nbase_url = "{upstream_url}"\n'
        f'[accounts.anthropic-main]\nprovider = "anthropic"\nbase_url = "{upstream_url}"\n'
        f'[otlp]\ntags = ["deployment.environment", "enduser.id"]\n{extra}', encoding="utf-8")
    return path


@contextmanager
def receiver(engine: Engine, database_url: str, tmp_path: Path, *, token: str | None = None,
             extra: str = "") -> Iterator[Receiver]:
    upstream = FakeUpstream(keys={OPENAI_KEY, ANTHROPIC_KEY}, partly_cached=True)  # see FakeUpstream
    upstream.start()
    config_path = write_config(tmp_path / "config.toml", database_url, upstream.url, extra)
    app = create_app(load_config(config_path), engine, token=token, scheduler=False)
    try:
        with serving(app) as url:
            yield Receiver(url, app, engine, config_path, upstream)
    finally:
        otlp = getattr(app.state, "otlp", None)
        if otlp is not None:
            otlp.close(5)
        upstream.stop()


@contextmanager
def exporting_traces(url: str, service: str, **exporter: Any) -> Iterator[Any]:
    """An OpenTelemetry SDK tracer provider exporting over OTLP/HTTP to `url`, flushed and shut down at exit."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "prod"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces", **exporter)))
    try:
        yield provider
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()


def expected_tokens(sent: list[Any], *measures: str) -> dict[str, int]:
    """The fake upstream's answers summed in creditgauge's measures."""
    fields = {"input_tokens": "prompt", "output_tokens": "completion", "cached_input_tokens": "cached",
              "cache_write_tokens": "cache_write", "reasoning_tokens": "reasoning"}
    return {measure: sum(getattr(tokens, fields[measure]) for tokens in sent) for measure in measures}


def row_tokens(row: dict[str, Any], *measures: str) -> dict[str, int]:
    return {measure: row[measure] for measure in measures}


def recorded_spans(*spans: dict[str, Any], service: str = "billing-api") -> Any:
    """An ExportTraceServiceRequest of spans made by the OpenTelemetry SDK (one per attribute set, named by its
    operation), encoded by the exporter's own encoder: what an instrumented application sends."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    for attributes in spans:
        with tracer.start_as_current_span(str(attributes.get("gen_ai.operation.name", "span")),
                                          attributes=attributes):
            pass
    return encode_spans(memory.get_finished_spans())


def otlp_json(message: Any) -> bytes:
    """The OTLP JSON encoding of a message: protobuf's JSON mapping with trace and span ids in hex."""
    import base64

    from google.protobuf.json_format import MessageToDict

    def hex_ids(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: (base64.b64decode(value).hex() if key in ("traceId", "spanId", "parentSpanId")
                          else hex_ids(value)) for key, value in node.items()}
        if isinstance(node, list):
            return [hex_ids(item) for item in node]
        return node

    return json.dumps(hex_ids(MessageToDict(message))).encode()


def chat_span(**overrides: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30}
    attributes.update(overrides)
    return {name: value for name, value in attributes.items() if value is not None}
