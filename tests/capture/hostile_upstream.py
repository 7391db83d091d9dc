"""An inference upstream that answers with every poison of issue 12: numbers no column holds (1e30, 2^63,
negative, Infinity, a cost of 1e12 or 1e400), JSON nested deeper than any parser's stack, a model name with a NUL
or 300 characters long, and a gzip bomb. Which one is chosen by the request's `x-hostile-case` header; `ok` is an
ordinary answer. Uploads to `/v1/files` are counted, not kept."""

from __future__ import annotations

import gzip
from functools import cache

from aiohttp import web

CASE_HEADER = "x-hostile-case"
MODEL = "gpt-4o-mini"
GOOD_USAGE = '{"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}'
DEEP_NESTING = 100_000

# case -> the usage object the answer carries (raw JSON text: some of these are not valid for every parser)
USAGE_CASES = {
    "ok": GOOD_USAGE,
    "tokens-1e30": '{"prompt_tokens": 1e30, "completion_tokens": 5, "total_tokens": 1e30}',
    "tokens-2^63": '{"prompt_tokens": 9223372036854775808, "completion_tokens": 5}',
    "negative-tokens": '{"prompt_tokens": -5, "completion_tokens": 5, "total_tokens": 0}',
    "infinity-tokens": '{"prompt_tokens": Infinity, "completion_tokens": 5, "total_tokens": Infinity}',
    "cost-1e12": '{"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17, "cost": 1e12}',
    "cost-1e400": '{"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17, "cost": 1e400}',
    "negative-cost": '{"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17, "cost": -3.5}',
}
MODEL_CASES = {"long-model": "m" * 300, "nul-model": "gpt\\u0000-4o"}
POISON_CASES = [*[case for case in USAGE_CASES if case != "ok"], *MODEL_CASES, "deep-json"]


def completion(case: str) -> str:
    model = MODEL_CASES.get(case, MODEL)
    usage = USAGE_CASES.get(case, GOOD_USAGE)
    padding = ""
    if case == "deep-json":
        padding = ', "x_debug": ' + "[" * DEEP_NESTING + "]" * DEEP_NESTING
    return (f'{{"id": "chatcmpl-hostile", "object": "chat.completion", "created": 1764000000, "model": "{model}", '
            f'"choices": [{{"index": 0, "message": {{"role": "assistant", "content": "hello"}}, '
            f'"finish_reason": "stop"}}], "usage": {usage}{padding}}}')


@cache
def gzip_bomb(inflated_bytes: int = 256 * 1024 * 1024) -> bytes:
    """A JSON-looking answer that inflates to `inflated_bytes` (256 MiB: about 250 KB compressed)."""
    return gzip.compress(b'{"pad": "' + b"0" * inflated_bytes + b'"}', compresslevel=6)


async def chat(request: web.Request) -> web.StreamResponse:
    case = request.headers.get(CASE_HEADER, "ok")
    await request.read()
    if case == "gzip-bomb":
        return web.Response(body=gzip_bomb(), headers={"Content-Encoding": "gzip",
                                                       "Content-Type": "application/json"})
    if case == "sse-infinity":
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini", '
                             b'"choices": [{"index": 0, "delta": {"content": "hi"}}]}\n\n')
        await response.write(b'data: {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini", '
                             b'"choices": [], "usage": ' + USAGE_CASES["infinity-tokens"].encode() + b"}\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
    return web.Response(text=completion(case), content_type="application/json")


async def files(request: web.Request) -> web.Response:
    received = 0
    async for chunk in request.content.iter_any():
        received += len(chunk)
    return web.json_response({"object": "file", "bytes": received})


async def echo_path(request: web.Request) -> web.Response:
    return web.json_response({"raw_path": request.raw_path})


def hostile_app() -> web.Application:
    app = web.Application(client_max_size=1024**3)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/base/v1/chat/completions", chat)
    app.router.add_post("/v1/files", files)
    app.router.add_route("*", "/{tail:.*}", echo_path)
    return app
