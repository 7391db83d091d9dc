"""Shared by the capture tests: keys, the Stack handle, the accounts config, a TCP gate, and `creditgauge proxy`
as a real process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from creditgauge.capture.recorder import Recorder
from creditgauge.config import Config, parse_config
from creditgauge.fakes.upstream import FakeUpstream
from creditgauge.store import schema

OPENAI_KEY = "sk-proj-testkey0123456789abcdefXYZ"
ANTHROPIC_KEY = "sk-ant-api03-testkey0123456789abcdef"
GEMINI_KEY = "AIzaSyTestKey0123456789abcdefghijklmno"


@dataclass
class Stack:
    upstream: FakeUpstream
    cost_upstream: FakeUpstream
    proxy_url: str
    recorder: Recorder
    engine: Engine
    config: Config

    def flush(self) -> None:
        assert self.recorder.writer.flush(10), "events not committed in time"

    def events(self) -> list[dict[str, Any]]:
        self.flush()
        with self.engine.connect() as connection:
            rows = connection.execute(select(schema.usage_events).order_by(schema.usage_events.c.ts)).mappings()
            return [dict(row) for row in rows]

    def base(self, account: str) -> str:
        return f"{self.proxy_url}/{account}"


def stack_config(upstream_url: str, cost_url: str) -> Config:
    return parse_config({"accounts": {
        "openai-main": {"provider": "openai", "base_url": upstream_url},
        "openai-plain": {"provider": "openai", "base_url": upstream_url, "inject_stream_usage": False},
        "anthropic-main": {"provider": "anthropic", "base_url": upstream_url},
        "gemini-main": {"provider": "gemini", "base_url": upstream_url},
        "openrouter-main": {"provider": "openrouter", "base_url": cost_url},
    }}, None)




class TcpGate:
    """A TCP forwarder to a real database that the test can close and reopen: "the database is down" without
    touching the database itself. While closed, connections are accepted and dropped at once."""

    def __init__(self, target_host: str, target_port: int) -> None:
        import socket
        import threading

        self.target = (target_host, target_port)
        self.open = True
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: Any, sink: Any) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()

    def close(self) -> None:
        """Refuse new connections and cut the open ones, like a database that went away."""
        self.open = False
        with self._lock:
            sockets, self._sockets = self._sockets, []
        import socket

        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def reopen(self) -> None:
        self.open = True

    def stop(self) -> None:
        self.close()
        self._listener.close()


def gated_url(base_url: str, gate: TcpGate) -> str:
    """The same PostgreSQL URL, through the gate."""
    from sqlalchemy.engine import make_url

    return make_url(base_url).set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ProxyProcess:
    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config, self.port, self.log = config, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "CREDITGAUGE_DATABASE_URL"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "creditgauge", "--config", str(self.config), "proxy", "--port",
                 str(self.port)], stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"proxy did not start: {self.log.read_text()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def stop(self) -> None:
        """Kill the proxy if it still runs: a failed test leaves no process behind."""
        if self.process is not None and self.process.poll() is None:
            self.kill()
