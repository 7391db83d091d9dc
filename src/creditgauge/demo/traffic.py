"""Live traffic through the real recording proxy: OpenAI-style chat, streams and embeddings on the demo's OpenAI
account (forwarded to the fake inference upstream) and Groq's chat (forwarded to the Groq fake), and the proxy
records each answer's usage as it would for any application. The calls are made with the official openai SDK when
it is installed and with plain HTTP (httpx) when not: a plain install has no SDK."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from typing import Any, Protocol

import httpx

from creditgauge.capture.observed import TAGS_HEADER
from creditgauge.capture.proxy import RecordingProxy, Route
from creditgauge.capture.recorder import Recorder
from creditgauge.demo.scenario import ACCOUNTS, GROQ_MODELS, INFERENCE_KEY
from creditgauge.fakes.server import FakeServer

OPENAI_MODELS = ("gpt-5-2025-08-07", "gpt-4.1-mini-2025-04-14", "o4-mini-2025-04-16")
QUESTIONS = (
    "Where is my order 81723?",
    "Summarise this support ticket in one line: the invoice PDF will not download on Safari.",
    "Translate 'your refund is on its way' into German.",
    "Which of our plans includes SSO?",
)


class DemoProxy:
    """The recording proxy on 127.0.0.1, routing the demo's inference accounts to their fakes."""

    def __init__(self, upstreams: Mapping[str, tuple[str, str]], recorder: Recorder) -> None:
        """`upstreams`: account -> (provider, base URL of the fake that answers its inference calls)."""
        routes = {account: Route(account, provider, url, True) for account, (provider, url) in upstreams.items()}
        self._server = FakeServer(RecordingProxy(routes, recorder).runner)

    def start(self) -> str:
        return self._server.start()

    def stop(self) -> None:
        self._server.stop()


class ChatClient(Protocol):
    def chat(self, model: str, question: str, *, stream: bool) -> None: ...
    def embed(self, model: str, text: str) -> None: ...
    def close(self) -> None: ...


class SdkClient:
    """The official openai SDK, as most applications call OpenAI-style APIs."""

    def __init__(self, base_url: str, api_key: str, headers: Mapping[str, str]) -> None:
        import openai

        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=10,
                                     default_headers=dict(headers))

    def chat(self, model: str, question: str, *, stream: bool) -> None:
        messages: Any = [{"role": "user", "content": question}]
        if stream:
            for _chunk in self._client.chat.completions.create(model=model, messages=messages, max_tokens=120,
                                                               stream=True):
                pass  # read to the end, as an application showing the answer would
        else:
            self._client.chat.completions.create(model=model, messages=messages, max_tokens=120)

    def embed(self, model: str, text: str) -> None:
        self._client.embeddings.create(model=model, input=text)

    def close(self) -> None:
        self._client.close()


class HttpClient:
    """The same calls as plain HTTP requests: what the demo uses when the openai SDK is not installed."""

    def __init__(self, base_url: str, api_key: str, headers: Mapping[str, str]) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=10,
                                    headers={"Authorization": f"Bearer {api_key}", **headers})

    def chat(self, model: str, question: str, *, stream: bool) -> None:
        body = {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": 120,
                "stream": stream}
        with self._client.stream("POST", "chat/completions", json=body) as response:
            response.raise_for_status()
            for _line in response.iter_lines():
                pass  # read to the end, as an application showing the answer would

    def embed(self, model: str, text: str) -> None:
        self._client.post("embeddings", json={"model": model, "input": text}).raise_for_status()

    def close(self) -> None:
        self._client.close()


def open_client(base_url: str, api_key: str, headers: Mapping[str, str]) -> ChatClient:
    """The openai SDK when it is installed, else plain HTTP."""
    try:
        import openai  # noqa: F401
    except ImportError:
        return HttpClient(base_url, api_key, headers)
    return SdkClient(base_url, api_key, headers)


def send_traffic(proxy_url: str, *, project: str) -> int:
    """A few dozen calls through the proxy, as an application would make them; returns how many were made."""
    groq_key = next(account.key for account in ACCOUNTS if account.name == "groq")
    made = 0
    tags = {TAGS_HEADER: f"project={project},feature=live-demo"}
    with closing(open_client(f"{proxy_url}/openai/v1", INFERENCE_KEY, tags)) as client:
        for index in range(24):
            question = QUESTIONS[index % len(QUESTIONS)]
            if index % 6 == 5:
                client.embed("text-embedding-3-small", question)
            else:
                client.chat(OPENAI_MODELS[index % len(OPENAI_MODELS)], question, stream=index % 3 == 0)
            made += 1
    tags = {TAGS_HEADER: "project=evals,feature=live-demo"}
    with closing(open_client(f"{proxy_url}/groq/openai/v1", groq_key, tags)) as client:
        for index in range(12):
            client.chat(GROQ_MODELS[index % len(GROQ_MODELS)], QUESTIONS[index % len(QUESTIONS)],
                        stream=index % 2 == 0)
            made += 1
    return made


__all__ = ["ChatClient", "DemoProxy", "HttpClient", "SdkClient", "open_client", "send_traffic"]
