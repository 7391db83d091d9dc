"""The proxy's limits are `[proxy]` settings: `creditgauge proxy` started with a 1 MB request limit and a 1 s idle
timeout refuses a 2 MB request (413, before any upstream is asked) and closes a connection that sends nothing;
a setting out of range is one config line (exit 2)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from capture_support import ProxyProcess, free_port


def test_the_configured_limits_hold(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "db.sqlite"}"\n\n[proxy]\njournal_dir = "{tmp_path / "journal"}"\n'
        'max_request_mb = 1\nidle_timeout_seconds = 1\n\n'
        '[accounts.openai-main]\nprovider = "openai"\nbase_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    port = free_port()
    proxy = ProxyProcess(config, port, tmp_path / "proxy.log")
    proxy.start()
    try:
        body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "' + b"x" * (2 << 20) + b'"}]}'
        refused = httpx.post(f"http://127.0.0.1:{port}/openai-main/v1/chat/completions", content=body,
                             headers={"content-type": "application/json", "authorization": "Bearer sk-test"},
                             timeout=30)
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "request_too_large"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            started = time.monotonic()
            assert idle.recv(1) == b""  # closed by the proxy, not by the 10 s client timeout
            assert time.monotonic() - started < 8
    finally:
        assert proxy.terminate() == 0


def test_a_setting_out_of_range_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[proxy]\nmax_request_mb = 0\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "creditgauge", "--config", str(config), "proxy"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "proxy.max_request_mb" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
