"""Which inference call a request is: its API flavour, endpoint name, model and whether it streams; and the
request rewrite that makes OpenAI-style streams carry their usage (`stream_options.include_usage`).

Besides the POSTs that make a model call, three GETs carry usage: a Responses answer retrieved (a background
response polled to completion) or resumed as a stream (`GET /v1/responses/{id}?stream=true&starting_after=N`),
and batch results (OpenAI's output file `GET /v1/files/{id}/content`, Anthropic's
`GET /v1/messages/batches/{id}/results`), whose answers are billed at batch prices."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# (path suffix, flavour, endpoint name). The flavour says which usage parser reads the answer.
_SUFFIXES = (
    ("/chat/completions", "chat", "chat.completions"),
    ("/completions", "chat", "completions"),
    ("/embeddings", "embeddings", "embeddings"),
    ("/responses", "responses", "responses"),
    ("/messages", "anthropic", "messages"),
)
_MODEL = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_RESPONSE_PATH = re.compile(r"/responses/[^/]+$")
_BATCH_RESULTS = re.compile(r"/files/[^/]+/content$|/messages/batches/[^/]+/results$")
BATCH_RESULTS = "batch.results"
RESPONSE_RETRIEVAL = "responses.retrieve"
# GETs that are not billed calls themselves: without usage in the answer there is nothing to record.
RETRIEVALS = (BATCH_RESULTS, RESPONSE_RETRIEVAL)
_GEMINI = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")


@dataclass(frozen=True, slots=True)
class Call:
    flavor: str  # chat | embeddings | responses | anthropic | gemini
    endpoint: str
    model: str | None
    stream: bool
    wants_usage: bool  # an OpenAI-style stream that already asks for usage


def classify(method: str, path: str, query: Mapping[str, str], body: bytes) -> Call | None:
    """The inference call a request makes, or None for anything else (listing models, files, batches...)."""
    if method == "GET":
        return _retrieval(path, query)
    if method != "POST":
        return None
    gemini = _GEMINI.search(path)
    if gemini:
        streaming = gemini["method"] == "streamGenerateContent"
        return Call("gemini", gemini["method"], gemini["model"], streaming, True)
    found = next(((flavor, endpoint) for suffix, flavor, endpoint in _SUFFIXES if path.endswith(suffix)), None)
    if found is None:
        return None
    flavor, endpoint = found
    if flavor == "anthropic" and "/threads/" in path:  # OpenAI Assistants' thread messages carry no usage
        return None
    # The request body is parsed only when it may ask for a stream (the common non-streamed call skips it); the
    # model is a fallback name for answers without one, so a cheap match is enough.
    model_match = _MODEL.search(body)
    model = model_match.group(1).decode("utf-8", "replace") if model_match else None
    if b'"stream"' not in body:
        return Call(flavor, endpoint, model, False, False)
    payload = _json_object(body)
    options = payload.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    return Call(flavor, endpoint, model, payload.get("stream") is True, wants_usage)


def _retrieval(path: str, query: Mapping[str, str]) -> Call | None:
    if _RESPONSE_PATH.search(path):
        return Call("responses", RESPONSE_RETRIEVAL, None, query.get("stream") == "true", True)
    if _BATCH_RESULTS.search(path):
        return Call("batch", BATCH_RESULTS, None, False, True)
    return None


def _json_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def needs_usage_injection(call: Call) -> bool:
    """Only chat/completions streams omit usage unless asked; Responses, Anthropic and Gemini always send it."""
    return call.flavor == "chat" and call.stream and not call.wants_usage


def inject_include_usage(body: bytes) -> bytes:
    """The same JSON request with `stream_options.include_usage = true`. When the client sent no stream_options
    the bytes are spliced (nothing else in the body changes); otherwise the object is rewritten."""
    stripped = body.lstrip()
    if not stripped.startswith(b"{"):
        return body
    payload = _json_object(body)
    if "stream_options" not in payload:
        rest = stripped[1:]
        separator = b"" if rest.lstrip().startswith(b"}") else b","
        return b'{"stream_options":{"include_usage":true}' + separator + rest
    options = payload["stream_options"] if isinstance(payload["stream_options"], dict) else {}
    payload["stream_options"] = {**options, "include_usage": True}
    return json.dumps(payload, separators=(",", ":")).encode()


_DECODABLE = ("gzip", "deflate", "identity")


def decodable_encodings(accept_encoding: str) -> str:
    """An Accept-Encoding narrowed to what the usage reader can inflate (capture.stream): a tracked answer must be
    readable on the way. The client still gets the upstream's bytes as sent."""
    kept = [part.strip() for part in accept_encoding.split(",")
            if part.split(";")[0].strip().lower() in _DECODABLE]
    return ", ".join(kept) or "identity"
