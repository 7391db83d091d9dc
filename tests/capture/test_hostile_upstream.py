"""The proxy against a hostile upstream and hostile clients (issue 12). Each case asserts that the client gets the
upstream's answer as it came (never a 500), that the bad item is quarantined and visible, that nothing else is
lost, that time and memory stay bounded, and that no key reaches any log."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_upstream import CASE_HEADER, POISON_CASES, gzip_bomb, hostile_app
from sqlalchemy import Engine, select

from creditgauge.capture.journal import Journal
from creditgauge.capture.proxy import RecordingProxy, routes_for
from creditgauge.capture.recorder import Recorder
from creditgauge.capture.writer import Backoff, EventWriter
from creditgauge.config import parse_config
from creditgauge.fakes.server import FakeServer
from creditgauge.pricing import Pricer
from creditgauge.redact import install_log_redaction
from creditgauge.store import schema
from creditgauge.store.quarantine import count_quarantined, recent_quarantined

KEY = "sk-proj-hostiletest0123456789abcdef"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
INFLATE_LIMIT = 4 * 1024 * 1024
REQUEST_LIMIT = 1024 * 1024


@dataclass
class Hostile:
    proxy_url: str
    upstream_url: str
    recorder: Recorder
    engine: Engine
    proxy: RecordingProxy

    def post(self, case: str, account: str = "openai-main", **options: Any) -> httpx.Response:
        return httpx.post(f"{self.proxy_url}/{account}/v1/chat/completions", json=CHAT, timeout=20,
                          headers={"Authorization": f"Bearer {KEY}", CASE_HEADER: case}, **options)

    def stored(self) -> list[dict[str, Any]]:
        assert self.recorder.writer.flush(10).pending == 0
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(select(schema.usage_events)).mappings()]


def _start(engine: Engine, tmp_path: Path, **limits: Any) -> Iterator[Hostile]:
    upstream = FakeServer(hostile_app())
    upstream_url = upstream.start()
    config = parse_config({"accounts": {
        "openai-main": {"provider": "openai", "base_url": upstream_url},
        "openrouter-main": {"provider": "openrouter", "base_url": upstream_url},
        "prefixed": {"provider": "openai", "base_url": upstream_url + "/base"},
    }}, None)
    writer = EventWriter(engine, Journal(tmp_path / "journal"), batch_size=20, flush_interval=0.01,
                         backoff=Backoff(base=0.01, maximum=0.05)).start()
    recorder = Recorder(Pricer.from_config(config), writer)
    proxy = RecordingProxy(routes_for(config.accounts), recorder, **limits)
    server = FakeServer(proxy.runner)
    try:
        yield Hostile(server.start(), upstream_url, recorder, engine, proxy)
    finally:
        server.stop()
        recorder.close(timeout=5)
        upstream.stop()


@pytest.fixture
def hostile(engine: Engine, tmp_path: Path) -> Iterator[Hostile]:
    yield from _start(engine, tmp_path, max_inflated_bytes=INFLATE_LIMIT, max_request_bytes=REQUEST_LIMIT,
                      idle_timeout=1.0, body_timeout=1.0)


@pytest.fixture
def start_proxy(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Callable[..., Hostile]]:
    started: list[Iterator[Hostile]] = []

    def start(**limits: Any) -> Hostile:
        stack = _start(sqlite_engine, tmp_path, **limits)
        started.append(stack)
        return next(stack)

    yield start
    for stack in started:
        next(stack, None)


def test_every_poison_answer_reaches_the_client_and_is_quarantined(hostile: Hostile) -> None:
    """Issue 12: one poison event stopped all tracking for good. Here each is quarantined and the rest flows."""
    for case in POISON_CASES:
        account = "openrouter-main" if case.startswith(("cost-", "negative-cost")) else "openai-main"
        good = hostile.post("ok")
        poison = hostile.post(case, account=account)
        assert good.status_code == 200 and poison.status_code == 200, case
        assert poison.content == hostile_body(hostile, case), case  # the answer exactly as the upstream sent it
    stored = hostile.stored()
    assert len(stored) == len(POISON_CASES) and all(row["input_tokens"] == 12 for row in stored)
    assert count_quarantined(hostile.engine) == len(POISON_CASES)
    reasons = " | ".join(row["reason"] for row in recent_quarantined(hostile.engine))
    for expected in ("input_tokens", "cost", "model", "usage unreadable"):
        assert expected in reasons
    # and after all of that, tracking goes on
    assert hostile.post("ok").status_code == 200
    assert len(hostile.stored()) == len(POISON_CASES) + 1


def hostile_body(hostile: Hostile, case: str) -> bytes:
    return httpx.post(f"{hostile.upstream_url}/v1/chat/completions", json=CHAT, headers={CASE_HEADER: case}).content


def test_a_stream_with_unreadable_usage_is_relayed_whole_and_quarantined(hostile: Hostile) -> None:
    answer = hostile.post("sse-infinity")
    assert answer.status_code == 200 and answer.text.endswith("data: [DONE]\n\n")
    assert hostile.stored() == [] and count_quarantined(hostile.engine) == 1
    assert recent_quarantined(hostile.engine)[0]["reason"] == "usage unreadable (OverflowError)"


def test_a_gzip_bomb_is_relayed_untouched_in_bounded_memory(hostile: Hostile) -> None:
    bomb = gzip_bomb()
    tracemalloc.start()
    try:
        started = time.monotonic()
        with httpx.stream("POST", f"{hostile.proxy_url}/openai-main/v1/chat/completions", json=CHAT, timeout=30,
                          headers={"Authorization": f"Bearer {KEY}", CASE_HEADER: "gzip-bomb"}) as answer:
            relayed = b"".join(answer.iter_raw())
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 200 and relayed == bomb  # the client gets the upstream's bytes
    assert peak < 8 * len(bomb) + 4 * INFLATE_LIMIT, peak  # 256 MiB inflated would be far beyond this
    assert elapsed < 10
    assert hostile.stored() == [] and count_quarantined(hostile.engine) == 1
    assert "inflates beyond" in recent_quarantined(hostile.engine)[0]["reason"]
    assert hostile.post("ok").status_code == 200 and len(hostile.stored()) == 1


def test_huge_request_bodies_are_refused_and_uploads_stream_through(hostile: Hostile) -> None:
    huge = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * (4 * REQUEST_LIMIT)}]}
    refused = httpx.post(f"{hostile.proxy_url}/openai-main/v1/chat/completions", json=huge, timeout=20,
                         headers={"Authorization": f"Bearer {KEY}"})
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "request_too_large"
    upload = httpx.post(f"{hostile.proxy_url}/openai-main/v1/files", content=b"f" * (8 * REQUEST_LIMIT),
                        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/octet-stream"},
                        timeout=20)
    assert upload.status_code == 200 and upload.json()["bytes"] == 8 * REQUEST_LIMIT
    assert hostile.post("ok").status_code == 200 and len(hostile.stored()) == 1


def test_slowloris_connections_are_closed_and_others_are_served(hostile: Hostile) -> None:
    host, port = hostile.proxy_url.removeprefix("http://").split(":")
    slow_headers = [socket.create_connection((host, int(port))) for _ in range(30)]
    slow_body = [socket.create_connection((host, int(port))) for _ in range(5)]
    for sock in slow_headers:
        sock.sendall(b"POST /openai-main/v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    for sock in slow_body:
        sock.sendall(b"POST /openai-main/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                     b"Content-Type: application/json\r\n\r\n{\"model\":")
    assert hostile.post("ok").status_code == 200  # served while they hang
    deadline = time.monotonic() + 5
    for sock in slow_headers:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        assert sock.recv(1024) == b"", "a connection sending no complete request stayed open"
        sock.close()
    for sock in slow_body:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        assert b" 408 " in sock.recv(4096).split(b"\r\n")[0] + b" "
        sock.close()


def test_connections_beyond_the_cap_are_closed(start_proxy: Callable[..., Hostile]) -> None:
    hostile = start_proxy(max_connections=8, idle_timeout=30.0)
    host, port = hostile.proxy_url.removeprefix("http://").split(":")
    sockets = [socket.create_connection((host, int(port))) for _ in range(20)]
    time.sleep(0.3)
    closed = 0
    for sock in sockets:
        sock.settimeout(0.2)
        try:
            closed += sock.recv(1) == b""
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed += 1
    assert closed >= 12, closed
    for sock in sockets:
        sock.close()
    time.sleep(0.2)
    assert hostile.post("ok").status_code == 200


def test_paths_are_forwarded_as_received_and_never_leave_the_base(start_proxy: Callable[..., Hostile]) -> None:
    hostile = start_proxy()

    def upstream_path(path: str) -> str:
        answer = httpx.get(f"{hostile.proxy_url}{path}", headers={"Authorization": f"Bearer {KEY}"})
        return answer.json()["raw_path"] if answer.status_code == 200 else str(answer.status_code)

    assert upstream_path("/openai-main/v1/vector_stores/a%2Fb%3Fc%23d/files") == \
        "/v1/vector_stores/a%2Fb%3Fc%23d/files"
    assert upstream_path("/openai-main/v1/models?q=a%26b&x=%2F") == "/v1/models?q=a%26b&x=%2F"
    for escape in ("/prefixed/%2e%2e/admin", "/prefixed/v1/%2E%2E/%2e%2e/secret", "/prefixed/..%2Fadmin",
                   "/prefixed/v1/.%2e/x", "/prefixed/v1/%2e/x"):
        with httpx.Client() as client:  # the raw path, not normalised by the client
            request = client.build_request("GET", hostile.proxy_url)
            request.url = request.url.copy_with(raw_path=escape.encode())
            assert client.send(request).status_code == 400, escape


def test_hop_by_hop_headers_and_those_connection_names_stay_behind(start_proxy: Callable[..., Hostile]) -> None:
    hostile = start_proxy()
    seen: dict[str, str] = {}
    from aiohttp import web

    async def headers(request: web.Request) -> web.Response:
        seen.update(request.headers)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/v1/models", headers)
    upstream = FakeServer(app)
    url = upstream.start()
    try:
        config = parse_config({"accounts": {"echo": {"provider": "openai", "base_url": url}}}, None)
        hostile.proxy.routes.update(routes_for(config.accounts))
        httpx.get(f"{hostile.proxy_url}/echo/v1/models",
                  headers={"Connection": "keep-alive, X-Secret-Hop", "X-Secret-Hop": "private", "Keep-Alive": "5",
                           "X-Kept": "yes", "Authorization": f"Bearer {KEY}"})
    finally:
        upstream.stop()
    lowered = {name.lower() for name in seen}
    assert "x-secret-hop" not in lowered and "keep-alive" not in lowered and seen.get("X-Kept") == "yes"


MALFORMED = [
    b"GET /openai-main/v1/models?key=plantedquerykey0001 HTTP/1.1\r\nHost: x\r\n"
    b"Authorization: Bearer plantedbearer0002\x01\r\n\r\n",
    b"GET /openai-main/v1/models HTTP/1.1\r\nHost: x\r\nX-Api-Key: plantedapikey0003" + b"a" * 9000 + b"\r\n\r\n",
    b"GET /openai-main/v1/models?key=plantedquerykey0004 HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /openai-main/v1/models?key=plantedquerykey0005\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /openai-main/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer plantedbearer0006\r\n"
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello",
    b"GET /no-such-account/v1/models?key=plantedquerykey0007 HTTP/1.1\r\nHost: x\r\n"
    b"x-goog-api-key: plantedgoogkey0008\r\n\r\n",
    b"GET /openai-main/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() + b"\r\n"
    b"Bad Header Line With " + KEY.encode() + b"\r\n\r\n",
]
PLANTED = ["plantedquerykey0001", "plantedbearer0002", "plantedapikey0003", "plantedquerykey0004",
           "plantedquerykey0005", "plantedbearer0006", "plantedgoogkey0008", KEY]


def test_malformed_requests_carrying_keys_leave_no_key_in_any_log(start_proxy: Callable[..., Hostile],
                                                                 caplog: pytest.LogCaptureFixture,
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    install_log_redaction()  # as every creditgauge command does at start
    hostile = start_proxy()
    host, port = hostile.proxy_url.removeprefix("http://").split(":")
    with caplog.at_level(logging.DEBUG):
        for request in MALFORMED:
            with socket.create_connection((host, int(port))) as sock:
                sock.settimeout(5)
                sock.sendall(request)
                try:
                    while sock.recv(65536):
                        pass
                except (TimeoutError, ConnectionResetError):
                    pass
        assert hostile.post("ok").status_code == 200
        time.sleep(0.2)
    logged = caplog.text + "".join(capfd.readouterr())
    assert "Error handling request" in logged  # aiohttp did log the malformed requests, with their lines
    for planted in PLANTED:
        assert planted not in logged, planted
    stored = json.dumps(hostile.stored(), default=str)
    assert all(planted not in stored for planted in PLANTED)


def test_many_poison_answers_at_once_do_not_stall_good_ones(hostile: Hostile) -> None:
    errors: list[str] = []

    def send(case: str) -> None:
        answer = hostile.post(case)
        if answer.status_code != 200:
            errors.append(f"{case}: {answer.status_code}")

    threads = [threading.Thread(target=send, args=(case,)) for case in ["deep-json", "ok"] * 10]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and time.monotonic() - started < 20
    assert len(hostile.stored()) == 10 and count_quarantined(hostile.engine) == 10
