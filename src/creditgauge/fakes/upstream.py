"""A fast fake inference upstream: OpenAI chat/completions/embeddings/Responses, Anthropic messages and Gemini
generateContent, JSON and SSE streams, shaped exactly like the contract examples (provider-apis/examples:
openai_chat_completion.json, openai_chat_completion_stream_include_usage.sse, openai_responses_completed_event.json,
anthropic_message.json, anthropic_messages_stream.sse, gemini_generate_content.json, openrouter_chat_usage.json).

Token counts are a pure function of the request (see `usage_for`), so a test can compute what the upstream sent
and compare it with what was recorded. `chunk_delay` spaces stream chunks out (client-disconnect tests);
`report_cost` adds OpenRouter's `usage.cost`. Used by the capture tests and the proxy benchmark.

`ReplayUpstream` answers instead with recorded responses, byte for byte (the corpus in tests/real/inference).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from aiohttp import web

from creditgauge.fakes.server import FakeProvider, dumps, json_response

REPLY = "Your order ships tomorrow."
OPENAI_HEADERS = {
    "openai-organization": "acme-inc",
    "openai-processing-ms": "812",
    "openai-version": "2020-10-01",
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-limit-tokens": "800000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-remaining-tokens": "798765",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-reset-tokens": "92ms",
}
ANTHROPIC_HEADERS = {
    "anthropic-organization-id": "3f2a1b9c-7d4e-4a10-9b8c-2e6f5a4d3c21",
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": "3998",
    "anthropic-ratelimit-requests-reset": "2026-08-01T12:00:01Z",
    "anthropic-ratelimit-tokens-limit": "480000",
    "anthropic-ratelimit-tokens-remaining": "476000",
    "anthropic-ratelimit-tokens-reset": "2026-08-01T12:00:01Z",
}
COST_PER_TOKEN = Decimal("0.000002")  # the OpenRouter-style reported cost: (prompt + completion) x this


@dataclass(frozen=True, slots=True)
class Tokens:
    prompt: int
    cached: int
    completion: int
    reasoning: int
    cache_write: int = 0


def usage_for(body: dict[str, Any]) -> Tokens:
    """Deterministic token counts from a request: prompt from its text length, completion from max_tokens."""
    text = json.dumps(body.get("messages") or body.get("input") or body.get("prompt") or body.get("contents") or "")
    prompt = 8 + len(text) // 4
    limit = body.get("max_tokens") or body.get("max_output_tokens") or body.get("max_completion_tokens") or 24
    completion = max(1, min(int(limit), 400))
    return Tokens(prompt=prompt, cached=prompt // 2, completion=completion, reasoning=completion // 4,
                  cache_write=prompt // 8)


def _chunks(count: int) -> list[str]:
    words = REPLY.split(" ")
    return [(" " if i else "") + words[i % len(words)] for i in range(count)]


class FakeUpstream(FakeProvider):
    name = "upstream"

    def __init__(self, *, latency: float = 0.0, keys: set[str] | None = None, chunk_delay: float = 0.0,
                 stream_chunks: int = 4, report_cost: bool = False, partly_cached: bool = False) -> None:
        super().__init__(latency=latency, keys=keys)
        # Anthropic's answers with a prompt mostly uncached (an eighth read, a sixteenth written) instead of mostly
        # cached: its uncached `input_tokens` is then larger than the cached parts, as in many real calls, so a
        # client that takes it for the whole input cannot go unnoticed.
        self.partly_cached = partly_cached
        self.chunk_delay = chunk_delay
        self.stream_chunks = stream_chunks
        self.report_cost = report_cost
        self.sent: list[Tokens] = []  # every usage the fake answered with, in order
        self.disconnects = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/completions", self.completions)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_post("/v1/responses", self.responses)
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_post("/v1beta/models/{model}:generateContent", self.gemini)
        app.router.add_post("/v1beta/models/{model}:streamGenerateContent", self.gemini_stream)
        app.router.add_get("/v1/models", self.models)

    # -- auth ------------------------------------------------------------------------------------------------------
    def authorize(self, request: web.Request) -> web.Response | None:
        if self.keys is None:
            return None
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        key = (bearer or request.headers.get("x-api-key") or request.headers.get("x-goog-api-key")
               or request.query.get("key") or "")
        if key in self.keys:
            return None
        shown = f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"
        if request.path.endswith("/messages"):
            return json_response({"type": "error", "error": {"type": "authentication_error",
                                  "message": "invalid x-api-key"}, "request_id": "req_fake_401"}, 401)
        return json_response({"error": {"message": f"Incorrect API key provided: {shown}.",
                                        "type": "invalid_request_error", "param": None,
                                        "code": "invalid_api_key"}}, 401)

    # -- helpers ---------------------------------------------------------------------------------------------------
    async def _body(self, request: web.Request) -> dict[str, Any]:
        body = json.loads(await request.read() or b"{}")
        return body if isinstance(body, dict) else {}

    def _openai_usage(self, t: Tokens) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": t.prompt,
            "completion_tokens": t.completion,
            "total_tokens": t.prompt + t.completion,
            "prompt_tokens_details": {"cached_tokens": t.cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": t.reasoning, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        if self.report_cost:
            usage["cost"] = (t.prompt + t.completion) * COST_PER_TOKEN
            usage["is_byok"] = False
        return usage

    async def _sse(self, request: web.Request, events: list[bytes], headers: dict[str, str]) -> web.StreamResponse:
        response = web.StreamResponse(headers={**headers, "content-type": "text/event-stream; charset=utf-8",
                                               "cache-control": "no-cache"})
        await response.prepare(request)
        try:
            for index, event in enumerate(events):
                if self.chunk_delay and index:
                    await asyncio.sleep(self.chunk_delay)
                await response.write(event)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects += 1
            raise
        return response

    @staticmethod
    def _data(obj: Any) -> bytes:
        return f"data: {dumps(obj)}\n\n".encode()

    # -- OpenAI ----------------------------------------------------------------------------------------------------
    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._openai_completion(request, "chat.completion")

    async def completions(self, request: web.Request) -> web.StreamResponse:
        return await self._openai_completion(request, "text_completion")

    async def _openai_completion(self, request: web.Request, kind: str) -> web.StreamResponse:
        body = await self._body(request)
        tokens = usage_for(body)
        self.sent.append(tokens)
        model = str(body.get("model", "gpt-4.1-mini"))
        rid = f"chatcmpl-{len(self.sent):020d}"
        headers = {**OPENAI_HEADERS, "x-request-id": f"req_{len(self.sent):032d}"}
        created = int(time.time())
        chat = kind == "chat.completion"
        if not body.get("stream"):
            choice: dict[str, Any] = (
                {"index": 0, "message": {"role": "assistant", "content": REPLY, "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"} if chat else
                {"text": REPLY, "index": 0, "logprobs": None, "finish_reason": "stop"})
            return json_response({"id": rid, "object": kind, "created": created, "model": model,
                                  "choices": [choice], "usage": self._openai_usage(tokens),
                                  "service_tier": "default", "system_fingerprint": "fp_3f58d112f7"},
                                 headers=headers)
        include = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {"id": rid, "object": "chat.completion.chunk" if chat else "text_completion", "created": created,
                "model": model, "service_tier": "default", "system_fingerprint": "fp_6f2eabb9a5"}
        null_usage = {"usage": None} if include else {}

        def chunk(delta: dict[str, Any] | str, finish: str | None) -> bytes:
            choice = ({"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish} if chat else
                      {"text": delta, "index": 0, "logprobs": None, "finish_reason": finish})
            return self._data({**base, "choices": [choice], **null_usage})

        events = [chunk({"role": "assistant", "content": "", "refusal": None} if chat else "", None)]
        events += [chunk({"content": piece} if chat else piece, None) for piece in _chunks(self.stream_chunks)]
        events.append(chunk({} if chat else "", "stop"))
        if include:
            events.append(self._data({**base, "choices": [], "usage": self._openai_usage(tokens)}))
        events.append(b"data: [DONE]\n\n")
        return await self._sse(request, events, headers)

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        tokens = usage_for(body)
        tokens = Tokens(prompt=tokens.prompt, cached=0, completion=0, reasoning=0)
        self.sent.append(tokens)
        vector = [Decimal("0.0023064255"), Decimal("-0.009327292"), Decimal("0.015797347")]
        return json_response({"object": "list",
                              "data": [{"object": "embedding", "index": 0, "embedding": vector}],
                              "model": body.get("model", "text-embedding-3-small"),
                              "usage": {"prompt_tokens": tokens.prompt, "total_tokens": tokens.prompt}},
                             headers={**OPENAI_HEADERS, "x-request-id": f"req_{len(self.sent):032d}"})

    async def responses(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        tokens = usage_for(body)
        self.sent.append(tokens)
        model = str(body.get("model", "gpt-4.1"))
        rid = f"resp_{len(self.sent):024d}"
        now = int(time.time())
        message = {"id": f"msg_{len(self.sent):016d}", "type": "message", "status": "completed",
                   "role": "assistant",
                   "content": [{"type": "output_text", "text": REPLY, "annotations": [], "logprobs": []}]}
        response: dict[str, Any] = {
            "id": rid, "object": "response", "created_at": now, "status": "completed", "completed_at": now,
            "background": False, "error": None, "incomplete_details": None, "instructions": None,
            "max_output_tokens": None, "model": model, "output": [message], "parallel_tool_calls": True,
            "previous_response_id": None, "reasoning": {"effort": None, "summary": None},
            "service_tier": "default", "store": True, "temperature": Decimal("1.0"),
            "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": Decimal("1.0"),
            "truncation": "disabled",
            "usage": {"input_tokens": tokens.prompt,
                      "input_tokens_details": {"cached_tokens": tokens.cached, "cache_write_tokens": 0},
                      "output_tokens": tokens.completion,
                      "output_tokens_details": {"reasoning_tokens": tokens.reasoning},
                      "total_tokens": tokens.prompt + tokens.completion},
            "metadata": {},
        }
        headers = {**OPENAI_HEADERS, "x-request-id": f"req_{len(self.sent):032d}"}
        if not body.get("stream"):
            return json_response(response, headers=headers)
        pending = {**response, "status": "in_progress", "completed_at": None, "output": [], "usage": None}
        events = [b"event: response.created\n"
                  + self._data({"type": "response.created", "sequence_number": 0, "response": pending})]
        for index, piece in enumerate(_chunks(self.stream_chunks), start=1):
            events.append(b"event: response.output_text.delta\n" + self._data(
                {"type": "response.output_text.delta", "sequence_number": index, "item_id": message["id"],
                 "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []}))
        events.append(b"event: response.completed\n" + self._data(
            {"type": "response.completed", "sequence_number": len(events), "response": response}))
        return await self._sse(request, events, headers)

    # -- Anthropic -------------------------------------------------------------------------------------------------
    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        tokens = usage_for(body)
        if self.partly_cached:
            tokens = replace(tokens, cached=tokens.prompt // 8, cache_write=tokens.prompt // 16)
        self.sent.append(tokens)
        model = str(body.get("model", "claude-sonnet-4-5-20250929"))
        mid = f"msg_{len(self.sent):024d}"
        # Anthropic's input_tokens excludes cache reads and writes (§2.6): split the prompt three ways.
        plain = tokens.prompt - tokens.cached - tokens.cache_write
        usage = {"input_tokens": plain, "cache_creation_input_tokens": tokens.cache_write,
                 "cache_read_input_tokens": tokens.cached,
                 "cache_creation": {"ephemeral_5m_input_tokens": tokens.cache_write, "ephemeral_1h_input_tokens": 0},
                 "output_tokens": tokens.completion,
                 "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                 "service_tier": "standard"}
        headers = {**ANTHROPIC_HEADERS, "request-id": f"req_{len(self.sent):024d}"}
        message = {"id": mid, "type": "message", "role": "assistant", "model": model,
                   "content": [{"type": "text", "text": REPLY}], "stop_reason": "end_turn",
                   "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            return json_response(message, headers=headers)
        start_usage = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                             "cache_read_input_tokens", "cache_creation", "service_tier")}

        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\n".encode() + self._data(data)

        events = [event("message_start", {"type": "message_start", "message": {
            **message, "content": [], "stop_reason": None, "usage": {**start_usage, "output_tokens": 1}}}),
            event("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}}),
            b'event: ping\ndata: {"type": "ping"}\n\n']
        events += [event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": piece}})
                   for piece in _chunks(self.stream_chunks)]
        delta_usage = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                             "cache_read_input_tokens", "output_tokens", "server_tool_use")}
        events += [event("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   event("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                           "usage": delta_usage}),
                   event("message_stop", {"type": "message_stop"})]
        return await self._sse(request, events, headers)

    # -- Gemini ----------------------------------------------------------------------------------------------------
    def _gemini_body(self, model: str, t: Tokens, text: str, finished: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if finished:
            candidate["finishReason"] = "STOP"
        return {"candidates": [candidate],
                "usageMetadata": {"promptTokenCount": t.prompt, "candidatesTokenCount": t.completion - t.reasoning,
                                  "totalTokenCount": t.prompt + t.completion,
                                  "cachedContentTokenCount": t.cached, "thoughtsTokenCount": t.reasoning,
                                  "promptTokensDetails": [{"modality": "TEXT", "tokenCount": t.prompt}],
                                  "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": t.cached}]},
                "modelVersion": model, "responseId": f"resp{len(self.sent):020d}"}

    async def gemini(self, request: web.Request) -> web.StreamResponse:
        tokens = usage_for(await self._body(request))
        self.sent.append(tokens)
        return json_response(self._gemini_body(request.match_info["model"], tokens, REPLY, True))

    async def gemini_stream(self, request: web.Request) -> web.StreamResponse:
        tokens = usage_for(await self._body(request))
        self.sent.append(tokens)
        pieces = _chunks(self.stream_chunks)
        model = request.match_info["model"]
        events = [self._data(self._gemini_body(model, tokens, piece, i == len(pieces) - 1))
                  for i, piece in enumerate(pieces)]
        return await self._sse(request, events, {})

    async def models(self, request: web.Request) -> web.StreamResponse:
        return json_response({"object": "list", "data": [
            {"id": "gpt-4.1-mini", "object": "model", "created": 1744318173, "owned_by": "system"}]},
            headers=OPENAI_HEADERS)


REPLAY_CHUNK = 61  # recorded streams are sent in small pieces, so events straddle reads


class ReplayUpstream(FakeProvider):
    """Answers every request, whatever its path, with the next queued response as recorded (status, content
    type, bytes)."""

    name = "replay"

    def __init__(self) -> None:
        super().__init__()
        self.queue: deque[tuple[int, str, bytes]] = deque()

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self.replay)

    async def replay(self, request: web.Request) -> web.StreamResponse:
        status, content_type, body = self.queue.popleft()
        response = web.StreamResponse(status=status, headers={"content-type": content_type})
        await response.prepare(request)
        for offset in range(0, len(body), REPLAY_CHUNK):
            await response.write(body[offset:offset + REPLAY_CHUNK])
            await asyncio.sleep(0)
        await response.write_eof()
        return response
