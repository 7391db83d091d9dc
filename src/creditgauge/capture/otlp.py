"""OTLP export requests (traces and metrics) read into tracked usage events.

Bodies are protobuf or the OTLP JSON encoding (hex trace and span ids, 64-bit integers as strings, camelCase),
plain or gzip, decoded with the `opentelemetry-proto` messages. One span that is a model call and carries token
usage becomes one event (source "otlp"). Its id is derived from the account and the provider's response id, as
the proxy derives it for answers it may see twice, so a retried batch, or one call traced by two instrumentations
(pydantic-ai's and the OpenAI SDK's), is stored once; a span without a response id is known by its trace and span
ids. A span whose values cannot be stored is rejected alone, with a reason, and the rest of the batch is kept.
Metrics are read by `capture.otlp_metrics`.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from google.protobuf.json_format import ParseDict, ParseError
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from creditgauge.capture.genai_attributes import (
    AI_SDK_PROVIDER_METADATA,
    INPUT_WITHOUT_CACHE,
    MODEL_ATTRIBUTES,
    MODEL_CALL_OPERATIONS,
    RAW_INPUT_SDKS,
    RESPONSE_ID,
    SDK_NAME,
    SERVER_ADDRESS,
    SERVICE_NAME,
    SPAN_ATTRIBUTES,
    SPELLING_RANKS,
    TOKEN_SPELLINGS,
    USAGE_ATTRIBUTES,
    operation_name,
    provider_name,
)
from creditgauge.capture.guarded import BoundedInflater, TooLarge
from creditgauge.capture.observed import stable_event_id
from creditgauge.capture.stream import UnsupportedEncoding
from creditgauge.config import Config
from creditgauge.domain import UsageEvent
from creditgauge.limits import MAX_TAG_NAME, MAX_TAG_VALUE, InvalidValue, check_count, check_event

SOURCE = "otlp"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_INFLATED_BYTES = 64 * 1024 * 1024
MAX_MESSAGES = 5  # problems quoted in a partial-success message; the count covers them all
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class BadRequest(ValueError):
    """The whole body is unusable (HTTP 400 or 415): nothing of it is stored."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Decoded:
    """What a batch became: events to record, and how many items were refused, with the first reasons."""

    events: list[UsageEvent] = field(default_factory=list)
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def reject(self, where: str, reason: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_MESSAGES:
            self.problems.append(f"{where}: {reason}")

    def message(self, noun: str) -> str:
        if not self.rejected:
            return ""
        more = f" (and {self.rejected - len(self.problems)} more)" if self.rejected > len(self.problems) else ""
        return f"{self.rejected} {noun} rejected: " + "; ".join(self.problems) + more


def media_type(content_type: str | None) -> str:
    """The body's encoding from its Content-Type; anything else is refused (415) before it is read."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in (PROTOBUF, JSON):
        return kind
    raise BadRequest(f"Content-Type {kind or 'missing'!r} is not an OTLP encoding: send {PROTOBUF} or {JSON}", 415)


def decode(body: bytes, kind: str, content_encoding: str | None, message: type[Message]) -> Any:
    """The export request a body holds (gzip or plain, protobuf or OTLP JSON), or BadRequest saying why not."""
    try:
        inflater = BoundedInflater(content_encoding, MAX_INFLATED_BYTES)
        raw = inflater.inflate(body) + inflater.flush()
    except UnsupportedEncoding:
        raise BadRequest(f"Content-Encoding {content_encoding!r} is not supported: send gzip or none", 415) from None
    except TooLarge:
        raise BadRequest(f"the body inflates beyond {MAX_INFLATED_BYTES:,} bytes: send smaller batches") from None
    except zlib.error:
        raise BadRequest("the body is not valid gzip: check the exporter's compression setting") from None
    if kind == PROTOBUF:
        try:
            return message.FromString(raw)
        except (DecodeError, RecursionError):
            raise BadRequest(f"the body is not a valid {message.DESCRIPTOR.name} protobuf message") from None
    try:
        document = json.loads(raw)
        return ParseDict(_ids_as_base64(document), message(), ignore_unknown_fields=True)
    except (ValueError, ParseError, RecursionError, TypeError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise BadRequest(f"the body is not a valid OTLP JSON {message.DESCRIPTOR.name}: {first}") from None


def _ids_as_base64(node: Any) -> Any:
    """OTLP JSON writes trace and span ids in hex where protobuf's JSON mapping expects base64."""
    if isinstance(node, dict):
        return {key: (_hex_id(value) if key in _ID_FIELDS else _ids_as_base64(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_ids_as_base64(item) for item in node]
    return node


def _hex_id(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        raise ValueError(f"trace or span id {value[:40]!r} is not hexadecimal") from None


_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value", "bytes_value"})
MAX_PROVIDER_METADATA = 64 * 1024  # characters of the AI SDK's provider metadata read for Anthropic's usage
ANTHROPIC_CACHE_KEYS = {"cached_input_tokens": "cache_read_input_tokens",
                        "cache_write_tokens": "cache_creation_input_tokens"}


def attribute_values(attributes: Iterable[KeyValue], wanted: frozenset[str] | None = None) -> dict[str, Any]:
    """The attributes as a dict; only the `wanted` ones when given (a span's prompt and completion text, which
    some instrumentations record, is never copied)."""
    values: dict[str, Any] = {}
    for item in attributes:  # the hot loop of a batch: scalars read inline, each field read once
        key = item.key
        if wanted is not None and key not in wanted:
            continue
        value = item.value
        kind = value.WhichOneof("value")
        values[key] = getattr(value, kind) if kind in _SCALARS else any_value(value)
    return values


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(any_value(item) for item in value.array_value.values)
    if kind == "kvlist_value":
        return attribute_values(value.kvlist_value.values)
    return getattr(value, kind)


def nanos_to_time(nanos: int) -> datetime:
    return EPOCH + timedelta(microseconds=nanos // 1000)


class AccountResolver:
    """The account a provider (and API host) belongs to: `[otlp] accounts` by host, then by provider; else the one
    configured account of that provider; else the provider's own name (shown as an account of that name)."""

    def __init__(self, config: Config) -> None:
        self.mapping = config.otlp.accounts
        self.providers = {name: account.provider for name, account in config.accounts.items()}
        by_provider: dict[str, list[str]] = {}
        for name, provider in self.providers.items():
            by_provider.setdefault(provider, []).append(name)
        self.sole = {provider: names[0] for provider, names in by_provider.items() if len(names) == 1}

    def origin(self, attributes: Mapping[str, Any], resource: Mapping[str, Any],
               item: str) -> tuple[str, str, str | None]:
        """(account, provider, model) of a span or data point; InvalidValue when it names no provider."""
        provider = provider_name(attributes) or provider_name(resource)
        if provider is None:
            raise InvalidValue("gen_ai.provider.name", f"the {item} names no provider (none of "
                                                       "gen_ai.provider.name, gen_ai.system, server.address): set one")
        account, provider = self.resolve(provider, attributes.get(SERVER_ADDRESS))
        for name in MODEL_ATTRIBUTES:  # the response's model first
            model = attributes.get(name)
            if isinstance(model, str) and model:
                return account, provider, model
        return account, provider, None

    def resolve(self, provider: str, host: Any) -> tuple[str, str]:
        """(account, provider): a configured account's provider wins, it is the one that bills."""
        account = (self.mapping.get(host) if isinstance(host, str) else None) or self.mapping.get(provider)
        account = account or self.sole.get(provider) or provider
        return account, self.providers.get(account, provider)


@dataclass(frozen=True, slots=True)
class Tagging:
    """Which attributes become tags: `service.name` always (it keeps metrics apart from spans), plus the
    configured ones, span attributes over resource ones. Values are cut to the tag column's length."""

    names: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Config) -> Tagging:
        return cls(tuple(dict.fromkeys((SERVICE_NAME, *config.otlp.tags))))

    def tags(self, resource: Mapping[str, Any], attributes: Mapping[str, Any]) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in self.names:
            value = attributes.get(name, resource.get(name))
            if value is not None and value != "":
                found[name[:MAX_TAG_NAME]] = str(value)[:MAX_TAG_VALUE]
        return found


def anthropic_usage(attributes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Anthropic's own usage object, where the AI SDK kept it in the span (`ai.response.providerMetadata`)."""
    text = attributes.get(AI_SDK_PROVIDER_METADATA)
    if not isinstance(text, str) or len(text) > MAX_PROVIDER_METADATA or '"anthropic"' not in text:
        return None
    try:
        metadata = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    anthropic = metadata.get("anthropic") if isinstance(metadata, dict) else None
    usage = anthropic.get("usage") if isinstance(anthropic, dict) else None
    return usage if isinstance(usage, dict) else None


def usage_counts(attributes: Mapping[str, Any], *, input_without_cache: bool = False,
                 provider_usage: Mapping[str, Any] | None = None) -> dict[str, int] | None:
    """The span's token counts in creditgauge's convention, or None when it reports no usage. Input includes
    cache reads and writes and output includes reasoning, as the conventions say. An instrumentation known to
    report Anthropic's own split (`input_without_cache`) has the cached parts added; so does any that reports
    input smaller than them. Anthropic's usage object (`provider_usage`, see `anthropic_usage`) gives the cache
    reads and writes a span leaves out, and shows an input that is its uncached `input_tokens`."""
    best: dict[str, tuple[int, str]] = {}  # measure -> (rank, spelling) of the spellings the span has
    for name in USAGE_ATTRIBUTES.intersection(attributes):  # a span has a few of the two dozen
        measure, rank = SPELLING_RANKS[name]
        if measure not in best or rank < best[measure][0]:
            best[measure] = (rank, name)
    if "input_tokens" not in best and "output_tokens" not in best:
        return None
    counts = dict.fromkeys(TOKEN_SPELLINGS, 0)
    for measure, (_, name) in best.items():
        counts[measure] = check_count(attributes[name], name)
    if provider_usage is not None:
        for measure, key in ANTHROPIC_CACHE_KEYS.items():
            if measure not in best and key in provider_usage:
                counts[measure] = check_count(provider_usage[key], f"{AI_SDK_PROVIDER_METADATA}: {key}")
        input_without_cache = input_without_cache or counts["input_tokens"] == provider_usage.get("input_tokens")
    if input_without_cache or counts["input_tokens"] < counts["cached_input_tokens"] + counts["cache_write_tokens"]:
        counts["input_tokens"] += counts["cached_input_tokens"] + counts["cache_write_tokens"]
    if counts["output_tokens"] < counts["reasoning_tokens"]:
        counts["output_tokens"] += counts["reasoning_tokens"]
    return counts


def span_event_id(span: Any) -> str:
    """The id of a span's event when the call has no response id: its trace and span ids."""
    return f"{SOURCE}-{span.trace_id.hex()}{span.span_id.hex()}"


class SpanReader:
    """Turns the spans of export requests into events, with the config's accounts and tags."""

    def __init__(self, config: Config) -> None:
        self.accounts = AccountResolver(config)
        self.tagging = Tagging.from_config(config)
        self.wanted = SPAN_ATTRIBUTES | frozenset(self.tagging.names)

    def read(self, request: ExportTraceServiceRequest, on_service: Callable[[str], None] | None = None) -> Decoded:
        decoded = Decoded()
        index = 0
        for resource_spans in request.resource_spans:
            resource = attribute_values(resource_spans.resource.attributes)
            before = len(decoded.events)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    try:
                        event = self.event(span, resource)
                    except InvalidValue as exc:
                        decoded.reject(f"span {index} ({span.name[:60]!r})", str(exc))
                    except (TypeError, ValueError, OverflowError, RecursionError) as exc:  # a value no rule foresaw
                        decoded.reject(f"span {index} ({span.name[:60]!r})", f"unreadable ({type(exc).__name__})")
                    else:
                        if event is not None:
                            decoded.events.append(event)
                    index += 1
            service = resource.get(SERVICE_NAME)
            if on_service is not None and isinstance(service, str) and len(decoded.events) > before:
                on_service(service)  # a service whose model calls are traced: its token metrics are not counted
        return decoded

    @staticmethod
    def _input_without_cache(attributes: Mapping[str, Any], resource: Mapping[str, Any]) -> bool:
        sdk = attributes.get(SDK_NAME) or resource.get(SDK_NAME)
        if not isinstance(sdk, str) or sdk not in RAW_INPUT_SDKS:  # nearly every span: one lookup
            return False
        return (sdk, provider_name(attributes) or provider_name(resource)) in INPUT_WITHOUT_CACHE

    def event(self, span: Any, resource: Mapping[str, Any]) -> UsageEvent | None:
        """The span's event; None for a span that is not a model call or reports no usage; InvalidValue for one
        whose values cannot be stored."""
        attributes = attribute_values(span.attributes, self.wanted)
        operation = operation_name(attributes)
        if operation not in MODEL_CALL_OPERATIONS:
            return None
        counts = usage_counts(attributes, input_without_cache=self._input_without_cache(attributes, resource),
                              provider_usage=anthropic_usage(attributes))
        if counts is None:
            return None
        if len(span.trace_id) != 16 or len(span.span_id) != 8:
            raise InvalidValue("traceId", "a span needs a 16-byte trace id and an 8-byte span id")
        account, provider, model = self.accounts.origin(attributes, resource, "span")
        end = span.end_time_unix_nano or span.start_time_unix_nano
        response_id = attributes.get(RESPONSE_ID)
        response_id = response_id if isinstance(response_id, str) and response_id else None
        event = UsageEvent(
            id=stable_event_id(account, response_id) if response_id else span_event_id(span),
            account=account, provider=provider,
            ts=nanos_to_time(end), model=model, endpoint=operation, source=SOURCE,
            input_tokens=counts["input_tokens"], cached_input_tokens=counts["cached_input_tokens"],
            cache_write_tokens=counts["cache_write_tokens"], output_tokens=counts["output_tokens"],
            reasoning_tokens=counts["reasoning_tokens"],
            tags=self.tagging.tags(resource, attributes),
            latency_ms=max(0, end - span.start_time_unix_nano) // 1_000_000 if span.start_time_unix_nano else None,
            request_id=response_id,
        )
        check_event(event)  # InvalidValue names the field; another error is the caller's "unreadable"
        return event
