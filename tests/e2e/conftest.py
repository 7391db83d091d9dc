"""The demo (`creditgauge.demo.build_demo`: fake providers synced by the real sync engine, tracked history through
the capture path, live proxy traffic, a ledger). Served by uvicorn on 127.0.0.1 with the demo banner, and driven by
Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from creditgauge.demo import build_demo
from creditgauge.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Demo:
    url: str
    engine: Engine
    app: object


@pytest.fixture(scope="session")
def browser_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make test installs it)")
    return CHROMIUM


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo itself, as `creditgauge demo` builds it (60 days of history to keep the suite quick)."""
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API may already own this thread's event loop
        handle = pool.submit(build_demo, tmp_path_factory.mktemp("demo"), days=60).result()
    app = create_app(handle.config, handle.engine, demo=True, scheduler=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    app.state.scheduler.jobs.clear()  # "sync now" only: the tests compare figures that must stand still
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Demo(f"http://127.0.0.1:{port}", handle.engine, app)
    finally:
        server.should_exit = True
        thread.join()
        handle.stop()


@pytest.fixture(scope="package")
def browser(browser_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(browser_path), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, demo: Demo) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=demo.url)  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def save_screenshot(page: object, name: str, tmp_path: Path) -> Path:
    """Into the test's directory (the README's screenshots come from docs/screenshots.py)."""
    target = tmp_path / name
    page.screenshot(path=str(target), full_page=True)  # type: ignore[attr-defined]
    assert target.stat().st_size > 10_000
    return target
