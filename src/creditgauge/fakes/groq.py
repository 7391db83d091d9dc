"""Fake Groq API (provider-apis §4): models list and chat completions (JSON and SSE stream) with the documented usage
object, `x_groq` block, `x-ratelimit-*` headers and the 429 body. Limits are per organization: requests per day
(never refilled here) and tokens per minute (refilled a minute after the window opened).

The contract documents the rate-limit headers on chat completions only, so `GET /openai/v1/models` sends them
only when `ratelimit_on_models` is set: connectors must cope with both."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from decimal import Decimal
from typing import Any

from aiohttp import web

from creditgauge.fakes.server import FakeProvider, dumps, json_response

MODELS = ("llama-3.1-8b-instant", "llama-3.3-70b-versatile", "openai/gpt-oss-120b", "openai/gpt-oss-20b")
REPLY = "Your order ships tomorrow."
ORGANIZATION = "org_01kcqbs1adfsgt55ypacx3x7xj"


def go_duration(seconds: Decimal) -> str:
    """Format like Go's time.Duration, the way Groq sends resets: "12ms", "7.66s", "2m59.56s", "6m0s"."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{(seconds * 1000).normalize():f}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs.quantize(Decimal('0.01')).normalize():f}s"
    if hours or minutes:
        text = f"{int(minutes)}m{text}"
    if hours:
        text = f"{int(hours)}h{text}"
    return text


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class FakeGroq(FakeProvider):
    name = "groq"

    def __init__(self, *, limit_requests: int = 14400, limit_tokens: int = 12000, ratelimit_on_models: bool = False,
                 cached_tokens: int = 0, reasoning_tokens: int = 0, **options: Any) -> None:
        super().__init__(**options)
        self.limit_requests = limit_requests
        self.limit_tokens = limit_tokens
        self.remaining_requests = limit_requests
        self.remaining_tokens = limit_tokens
        self.ratelimit_on_models = ratelimit_on_models
        self.cached_tokens = cached_tokens  # reported in prompt_tokens_details when > 0
        self.reasoning_tokens = reasoning_tokens  # reported in completion_tokens_details when > 0
        self._minute_started = time.monotonic()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/openai/v1/models", self._models)
        app.router.add_post("/openai/v1/chat/completions", self._chat)

    def authorize(self, request: web.Request) -> web.Response | None:
        if self.keys is None:
            return None
        if request.headers.get("Authorization", "").removeprefix("Bearer ").strip() in self.keys:
            return None
        return json_response({"error": {"message": "Invalid API Key", "type": "invalid_request_error",
                                        "code": "invalid_api_key"}}, status=401)

    # -- rate limits ---------------------------------------------------------------------------------------------
    def _refill(self) -> Decimal:
        """Open a new token minute when the old one is over; return the seconds until the current one ends."""
        elapsed = time.monotonic() - self._minute_started
        if elapsed >= 60:
            self._minute_started, elapsed = time.monotonic(), 0.0
            self.remaining_tokens = self.limit_tokens
        return Decimal(str(round(60 - elapsed, 2)))

    def ratelimit_headers(self) -> dict[str, str]:
        token_reset = self._refill()
        used_requests = self.limit_requests - self.remaining_requests
        # A day's requests come back evenly: one every 86400/limit seconds.
        request_reset = Decimal(86400) * used_requests / self.limit_requests
        return {
            "x-request-id": f"req_{secrets.token_hex(13)}",
            "x-ratelimit-limit-requests": str(self.limit_requests),
            "x-ratelimit-limit-tokens": str(self.limit_tokens),
            "x-ratelimit-remaining-requests": str(self.remaining_requests),
            "x-ratelimit-remaining-tokens": str(max(self.remaining_tokens, 0)),
            "x-ratelimit-reset-requests": go_duration(request_reset.quantize(Decimal("0.01"))),
            "x-ratelimit-reset-tokens": go_duration(token_reset if self.remaining_tokens < self.limit_tokens
                                                    else Decimal(0)),
        }

    def _rate_limited(self, model: str, kind: str, requested: int) -> web.Response:
        headers = self.ratelimit_headers()
        wait = self._refill() if kind == "tokens" else Decimal(86400) / self.limit_requests
        if kind == "tokens":
            scope = f"tokens per minute (TPM): Limit {self.limit_tokens}, " \
                    f"Used {self.limit_tokens - max(self.remaining_tokens, 0)}, Requested {requested}"
        else:
            scope = f"requests per day (RPD): Limit {self.limit_requests}, Used {self.limit_requests}, Requested 1"
        message = (f"Rate limit reached for model `{model}` in organization `{ORGANIZATION}` service tier "
                   f"`on_demand` on {scope}. Please try again in {go_duration(wait)}. Need more tokens? "
                   "Upgrade to Dev Tier today at https://console.groq.com/settings/billing")
        headers["retry-after"] = str(int(wait) + 1)
        return json_response({"error": {"message": message, "type": kind, "code": "rate_limit_exceeded"}},
                             status=429, headers=headers)

    # -- endpoints -----------------------------------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        body = {"object": "list", "data": [
            {"id": model, "object": "model", "created": 1733447754, "owned_by": "Groq"} for model in MODELS
        ]}
        return json_response(body, headers=self.ratelimit_headers() if self.ratelimit_on_models else None)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            payload = json.loads(await request.text())
            model, messages = payload["model"], payload["messages"]
        except (ValueError, KeyError, TypeError):
            return json_response({"error": {"message": "'model' and 'messages' are required",
                                            "type": "invalid_request_error", "param": None, "code": None}},
                                 status=400)
        prompt_tokens = sum(4 + len(_text_of(m.get("content"))) // 4 for m in messages if isinstance(m, dict))
        cap = payload.get("max_completion_tokens") or payload.get("max_tokens") or 1024
        self._refill()
        if self.remaining_requests <= 0:
            return self._rate_limited(model, "requests", prompt_tokens)
        if self.remaining_tokens < prompt_tokens:
            return self._rate_limited(model, "tokens", prompt_tokens)
        words = REPLY.split(" ")[: max(1, int(cap))]
        completion_tokens = len(words) + self.reasoning_tokens
        usage = self.usage(prompt_tokens, completion_tokens)
        self.remaining_requests -= 1
        self.remaining_tokens -= usage["total_tokens"]
        ids = {"id": f"chatcmpl-{uuid.uuid4()}", "x_groq": f"req_{secrets.token_hex(13)}",
               "finish_reason": "stop" if len(words) == len(REPLY.split(" ")) else "length"}
        if payload.get("stream"):
            include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
            return await self._stream(request, model, words, usage, ids, include_usage)
        body = {
            "id": ids["id"], "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words)},
                         "logprobs": None, "finish_reason": ids["finish_reason"]}],
            "usage": usage,
            "system_fingerprint": "fp_3884478861",
            "x_groq": {"id": ids["x_groq"], "seed": secrets.randbelow(2**31)},
            "service_tier": "on_demand",
        }
        return json_response(body, headers=self.ratelimit_headers())

    def usage(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        """The documented usage object; times are seconds (floats on the wire)."""
        prompt_time = Decimal(prompt_tokens) * Decimal("0.000053")
        completion_time = Decimal(completion_tokens) * Decimal("0.003639")
        usage: dict[str, Any] = {
            "queue_time": Decimal("0.019352"),
            "prompt_tokens": prompt_tokens,
            "prompt_time": prompt_time,
            "completion_tokens": completion_tokens,
            "completion_time": completion_time,
            "total_tokens": prompt_tokens + completion_tokens,
            "total_time": prompt_time + completion_time,
        }
        if self.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": min(self.cached_tokens, prompt_tokens)}
        if self.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return usage

    async def _stream(self, request: web.Request, model: str, words: list[str], usage: dict[str, Any],
                      ids: dict[str, str], include_usage: bool) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **self.ratelimit_headers()})
        await response.prepare(request)
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish_reason: str | None, x_groq: dict[str, Any] | None) -> dict[str, Any]:
            body: dict[str, Any] = {
                "id": ids["id"], "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_a09bde29de",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if x_groq is not None:
                body["x_groq"] = x_groq
            return body

        # x_groq.id is sent only in the first and the final chunk; the final one carries the whole-request usage.
        events = [chunk({"role": "assistant", "content": ""}, None, {"id": ids["x_groq"]})]
        events += [chunk({"content": word if i == 0 else f" {word}"}, None, None) for i, word in enumerate(words)]
        final = chunk({}, ids["finish_reason"], {"id": ids["x_groq"], "seed": secrets.randbelow(2**31),
                                                  "usage": usage})
        if include_usage:
            final["usage"] = usage
        events.append(final)
        for event in events:
            await response.write(f"data: {dumps(event)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
