"""Follow a response body as it passes, chunk by chunk, and keep the latest usage it carried.

The relay never waits on this: `feed` looks at a copy of each chunk (decompressed when the upstream compressed it)
and parses only the few events that carry usage (OpenAI's final usage chunk, Groq's `x_groq.usage`, Responses'
`response.completed`, Anthropic's `message_start` / `message_delta`, Gemini's running usageMetadata).
`done` turns true on the stream's own terminal event, so the caller can make the event durable before the last
bytes reach the client.
"""

from __future__ import annotations

import json
import re
import zlib
from decimal import Decimal
from typing import Any

import orjson

from creditgauge.capture.usage import (
    CODE_EXECUTION_TOOLS,
    INEXACT_COST,
    Usage,
    anthropic_usage,
    batch_results_usage,
    gemini_usage,
    openai_usage,
    responses_usage,
    usage_from_body,
)

_NON_NULL_USAGE = re.compile(rb'"usage"\s*:\s*\{')
_RESPONSE_FINAL = (b"response.completed", b"response.incomplete", b"response.failed")
_RESPONSE_STARTED = b"response.created"
_ANTHROPIC_EVENTS = (b"message_start", b"message_delta", b"message_stop", b"content_block_start")
MAX_JSON_BODY = 64 * 1024 * 1024  # a whole-body copy kept for parsing; bigger bodies are relayed but not read


class UnsupportedEncoding(ValueError):
    pass


def decompressor(content_encoding: str | None) -> Any | None:
    """A zlib decompressor for the response's Content-Encoding; None for identity."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise UnsupportedEncoding(encoding)


# One decoder for every body: json.loads with parse_float builds a new decoder on each call.
_DECODER = json.JSONDecoder(parse_float=Decimal)


def parse_json(data: bytes) -> Any:
    """JSON with exact Decimals for fractional numbers (a provider-reported cost must not go through float)."""
    return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))


def body_usage(flavor: str, body: bytes, content_encoding: str | None = None) -> Usage | None:
    """Usage of a whole (non-streamed) JSON body. Unreadable bodies (not JSON, unknown encoding) yield None.

    Every proxied answer is parsed, so orjson reads it first (about three times faster than the standard library
    on a chat completion). It reads fractions as floats, which the usage readers refuse for money: a body whose
    usage carries a fractional cost (OpenRouter) is read again with exact Decimals."""
    try:
        inflater = decompressor(content_encoding)
        data = body if inflater is None else inflater.decompress(body) + inflater.flush()
        if flavor == "batch":  # JSON lines, read exactly (rare, and never on the request path of a model call)
            return batch_results_usage(_json_lines(data))
        try:
            usage = usage_from_body(flavor, orjson.loads(data))
        except orjson.JSONDecodeError:  # not UTF-8, say: the standard library decides
            return usage_from_body(flavor, parse_json(data))
        if usage is not None and INEXACT_COST in usage.extra:
            usage = usage_from_body(flavor, parse_json(data))
        return usage
    except (UnsupportedEncoding, zlib.error, ValueError):
        return None


def _json_lines(data: bytes) -> list[Any]:
    """Each line of a JSON-lines body that reads as JSON; an unreadable line is skipped, the others still count."""
    lines = []
    for line in data.splitlines():
        try:
            lines.append(parse_json(line))
        except ValueError:
            continue
    return lines


class StreamTracker:
    """Usage of one streamed response. `sse` is False for Gemini's JSON-array stream (no `alt=sse`)."""

    def __init__(self, flavor: str, *, content_encoding: str | None = None, sse: bool = True) -> None:
        self.flavor = flavor
        self.sse = sse
        self.usage: Usage | None = None
        self.done = False
        self.readable = True
        self._buffer = b""
        self._anthropic: dict[str, Any] = {}
        self._message: dict[str, Any] = {}
        self._code_execution = False
        self._container = False
        self._background: dict[str, Any] | None = None  # the response.created of a background Responses stream
        try:
            self._inflater = decompressor(content_encoding)
        except UnsupportedEncoding:
            self._inflater, self.readable = None, False

    def feed(self, chunk: bytes) -> None:
        if not self.readable or not chunk:
            return
        if self._inflater is not None:
            try:
                chunk = self._inflater.decompress(chunk)
            except zlib.error:
                self.readable = False
                return
        if not self.sse:
            if len(self._buffer) + len(chunk) > MAX_JSON_BODY:
                self.readable = False
                self._buffer = b""
                return
            self._buffer += chunk
            return
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        *events, self._buffer = buffer.split(b"\n\n")
        for block in events:
            self._event(block)

    def close(self) -> None:
        """The body ended: read what is left (an unterminated last event, or the whole JSON-array stream)."""
        if not self.readable:
            return
        if self._inflater is not None:
            try:
                tail = self._inflater.flush()
            except zlib.error:
                tail = b""
            if tail:
                self._inflater = None
                self.feed(tail)
        if not self.sse:
            found = body_usage(self.flavor, self._buffer)
            self.usage = found or self.usage
        elif self._buffer.strip():
            self._event(self._buffer)
        self._buffer = b""
        if self.usage is None and self._background is not None:
            # A background response keeps running when its stream breaks off: a poll or a resumed stream records it.
            self.usage = responses_usage({**self._background, "status": "in_progress", "usage": None})

    # -- one server-sent event ------------------------------------------------------------------------------------
    def _event(self, block: bytes) -> None:
        name = b""
        data_lines = []
        for line in block.split(b"\n"):
            if line.startswith(b"data:"):
                data_lines.append(line[5:].lstrip(b" "))
            elif line.startswith(b"event:"):
                name = line[6:].strip()
        if not data_lines:
            return
        data = b"\n".join(data_lines)
        try:
            if self.flavor == "anthropic":
                self._anthropic_event(name, data)
            elif self.flavor == "responses":
                self._responses_event(name, data)
            elif self.flavor == "gemini":
                if b"usageMetadata" in data:
                    self.usage = gemini_usage(parse_json(data)) or self.usage
            else:
                self._openai_event(data)
        except ValueError:  # one malformed event does not stop the relay; the usage stays what was known
            return

    def _openai_event(self, data: bytes) -> None:
        if data.strip() == b"[DONE]":
            self.done = True
            return
        if _NON_NULL_USAGE.search(data):
            self.usage = openai_usage(parse_json(data)) or self.usage

    def _responses_event(self, name: bytes, data: bytes) -> None:
        if name == _RESPONSE_STARTED or (not name and _RESPONSE_STARTED in data[:120]):
            if b'"background":true' not in data and b'"background": true' not in data:
                return
            event = parse_json(data)
            response = event.get("response") if isinstance(event, dict) else None
            if isinstance(response, dict) and response.get("background") is True:
                self._background = response
            return
        if name not in _RESPONSE_FINAL and not any(kind in data[:120] for kind in _RESPONSE_FINAL):
            return
        event = parse_json(data)
        kind = event.get("type", "") if isinstance(event, dict) else ""
        if kind.encode() not in _RESPONSE_FINAL:
            return
        response = event.get("response")
        if isinstance(response, dict):
            self.usage = responses_usage(response) or self.usage
        self.done = True

    def _anthropic_event(self, name: bytes, data: bytes) -> None:
        if name and name not in _ANTHROPIC_EVENTS:
            return
        if (name == b"content_block_start" or b'"content_block_start"' in data[:40]) \
                and b"server_tool_use" not in data:
            return  # the common text or thinking block: nothing billed in it
        event = parse_json(data)
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message")
            if isinstance(message, dict):
                self._message = message
                self._anthropic = dict(message.get("usage") or {})
        elif kind == "message_delta":
            self._merge_delta(event)
        elif kind == "content_block_start":
            block = event.get("content_block")
            self._code_execution |= isinstance(block, dict) and block.get("name") in CODE_EXECUTION_TOOLS
            return
        elif kind == "message_stop":
            self.done = True
            return
        else:
            return
        if self._anthropic:
            self.usage = anthropic_usage(self._anthropic, model=self._message.get("model"),
                                         request_id=self._message.get("id"))
            if self._code_execution and self._container:
                self.usage.tool_calls["code_execution"] = 1

    def _merge_delta(self, event: dict[str, Any]) -> None:
        """message_delta usage fields are cumulative totals (§2.6), so a count only grows: a delta never erases
        what message_start reported (a top-level 0 beside `iterations` is not "no cache reads"). Objects
        (iterations, server_tool_use) are the latest whole value."""
        delta = event.get("usage") or {}
        for key, value in delta.items():
            known = self._anthropic.get(key)
            if isinstance(value, int) and isinstance(known, int) and not isinstance(value, bool):
                self._anthropic[key] = max(known, value)
            elif value is not None:
                self._anthropic[key] = value
        self._container |= isinstance((event.get("delta") or {}).get("container"), dict)
