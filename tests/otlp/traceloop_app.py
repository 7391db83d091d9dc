"""An application traced by OpenLLMetry's SDK as its users set it up: `Traceloop.init` pointed at creditgauge, then
calls through the official openai and anthropic SDKs, which take their keys and base URLs from their usual
variables (OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL); the token header comes from
TRACELOOP_HEADERS, as the README tells users.

    python traceloop_app.py CREDITGAUGE_URL [--batch] CALL...   (CALL: openai, openai-stream, anthropic,
                                                                  anthropic-stream)

test_traceloop_sdk.py runs it in its own process: `Traceloop.init` instruments the whole process (requests,
urllib3, sqlalchemy, threading, logging, ...). A connection or name lookup beyond this machine is refused, and the
run then exits with status 3."""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import os
import sys
from typing import Any

OUTWARD_EXIT = 3
outward: list[str] = []


def _local(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _no_network(event: str, args: tuple[Any, ...]) -> None:
    """An audit hook: it runs before the lookup or connection, so nothing leaves the machine."""
    if event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
    elif event == "socket.connect" and isinstance(args[1], tuple):  # a Unix socket's address is a path: local
        host = args[1][0]
    else:
        return
    if not _local(host):
        outward.append(f"{event} {host}")
        raise ConnectionRefusedError(f"no network beyond this machine in this test ({host})")


def _report_outward() -> None:
    if outward:
        print(f"tried to reach beyond this machine: {outward}", file=sys.stderr, flush=True)
        os._exit(OUTWARD_EXIT)


def _call(name: str) -> None:
    import anthropic
    import openai

    question: Any = [{"role": "user", "content": "where is my order?"}]
    if name == "openai":
        openai.OpenAI().chat.completions.create(model="gpt-4o-mini", messages=question)
    elif name == "openai-stream":
        for _ in openai.OpenAI().chat.completions.create(model="gpt-4o-mini", messages=question, max_tokens=30,
                                                         stream=True, stream_options={"include_usage": True}):
            pass
    elif name == "anthropic":
        anthropic.Anthropic().messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=question)
    else:
        with anthropic.Anthropic().messages.stream(model="claude-sonnet-4-5", max_tokens=60,
                                                   messages=question) as stream:
            for _ in stream.text_stream:
                pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("creditgauge_url")
    parser.add_argument("--batch", action="store_true", help="Traceloop's default batching, sent at exit")
    parser.add_argument("calls", nargs="+", choices=["openai", "openai-stream", "anthropic", "anthropic-stream"])
    arguments = parser.parse_args()
    sys.addaudithook(_no_network)
    # Registered first, so it runs last: after the exporters' exit handlers have sent what they hold.
    atexit.register(_report_outward)
    os.environ["TRACELOOP_TELEMETRY"] = "false"  # 0.62 sends no telemetry; earlier releases did, unless this
    from traceloop.sdk import Traceloop

    Traceloop.init(app_name="checkout", api_endpoint=arguments.creditgauge_url, disable_batch=not arguments.batch)
    for name in arguments.calls:
        _call(name)


if __name__ == "__main__":
    main()
