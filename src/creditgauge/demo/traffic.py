"""Live traffic through the real recording proxy: the official openai SDK calls OpenAI-style chat, streams and
embeddings on the demo's OpenAI account (forwarded to the fake inference upstream) and Groq's chat (forwarded to
the Groq fake), and the proxy records each answer's usage as it would for any application."""

from __future__ import annotations

from collections.abc import Mapping

import openai
from openai.types.chat import ChatCompletionMessageParam

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


def send_traffic(proxy_url: str, *, project: str) -> int:
    """A few dozen calls through the proxy, as an application would make them; returns how many were made."""
    groq_key = next(account.key for account in ACCOUNTS if account.name == "groq")
    tags = {TAGS_HEADER: f"project={project},feature=live-demo"}
    made = 0
    with openai.OpenAI(base_url=f"{proxy_url}/openai/v1", api_key=INFERENCE_KEY, max_retries=0, timeout=10,
                       default_headers=tags) as client:
        for index in range(24):
            question = QUESTIONS[index % len(QUESTIONS)]
            if index % 6 == 5:
                client.embeddings.create(model="text-embedding-3-small", input=question)
            else:
                _chat(client, OPENAI_MODELS[index % len(OPENAI_MODELS)], question, stream=index % 3 == 0)
            made += 1
    with openai.OpenAI(base_url=f"{proxy_url}/groq/openai/v1", api_key=groq_key, max_retries=0, timeout=10,
                       default_headers={TAGS_HEADER: "project=evals,feature=live-demo"}) as client:
        for index in range(12):
            _chat(client, GROQ_MODELS[index % len(GROQ_MODELS)], QUESTIONS[index % len(QUESTIONS)],
                  stream=index % 2 == 0)
            made += 1
    return made


def _chat(client: openai.OpenAI, model: str, question: str, *, stream: bool) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": question}]
    if stream:
        for _chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=120, stream=True):
            pass  # read to the end, as an application showing the answer would
    else:
        client.chat.completions.create(model=model, messages=messages, max_tokens=120)


__all__ = ["DemoProxy", "send_traffic"]
