"""Body limits on a real server: a declared body over the limit is answered 413 before a byte of it is sent, and
a chunked one is cut off at the limit, so a client can never make the server hold more than the limit."""

from __future__ import annotations

import select
import socket
from urllib.parse import urlsplit

from sqlalchemy import Engine

from creditgauge.web import create_app
from creditgauge.web.ingest import MAX_BODY_BYTES

from . import dataset
from .live_server import serving


def _exchange(base_url: str, head: str, body_chunks: int = 0) -> tuple[str, int]:
    """Send a request head (and then up to `body_chunks` chunks of 64 KiB, stopping when the server answers):
    the status line of the answer, and how many body bytes were sent before it came."""
    address = urlsplit(base_url)
    sent = 0
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head.encode())
        for _ in range(body_chunks):
            if select.select([connection], [], [], 0)[0]:  # the server has answered
                break
            try:
                connection.sendall(b"10000\r\n" + b" " * 65_536 + b"\r\n")
            except OSError:  # the server answered and closed: it read no further
                break
            sent += 65_536
        answer = connection.recv(4096).decode(errors="replace")
    return answer.split("\r\n", 1)[0], sent


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(store: Engine) -> None:
    with serving(create_app(dataset.config(), store, scheduler=False)) as base_url:
        status, _ = _exchange(base_url, "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n")
    assert status == "HTTP/1.1 413 Request Entity Too Large"


def test_a_chunked_body_is_cut_off_at_the_limit(store: Engine) -> None:
    with serving(create_app(dataset.config(), store, scheduler=False)) as base_url:
        status, sent = _exchange(base_url, "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 body_chunks=4 * MAX_BODY_BYTES // 65_536)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert sent < 2 * MAX_BODY_BYTES  # the answer came at the limit, not after the whole body
