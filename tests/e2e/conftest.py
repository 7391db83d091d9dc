"""A demo store built the way `creditgauge demo` builds one: fake providers synced by the real sync engine, tracked
traffic with a weekly rhythm, a ledger deposit. Served by uvicorn on 127.0.0.1 with the demo banner, and driven by
Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from creditgauge.config import parse_config
from creditgauge.domain import UsageEvent, day_start
from creditgauge.fakes.anthropic import DEFAULT_ADMIN_KEY, FakeAnthropic
from creditgauge.fakes.deepseek import FakeDeepSeek
from creditgauge.fakes.openai import FakeOpenAI
from creditgauge.fakes.xai import DEFAULT_MANAGEMENT_KEY, DEFAULT_TEAM_ID, FakeXAI
from creditgauge.store.engine import open_engine
from creditgauge.store.events import store_events
from creditgauge.store.ledger import add_entry
from creditgauge.sync import run_sync
from creditgauge.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
KEYS = {"E2E_OPENAI_KEY": "sk-admin-e2e-openai-0000000000", "E2E_ANTHROPIC_KEY": DEFAULT_ADMIN_KEY,
        "E2E_XAI_KEY": DEFAULT_MANAGEMENT_KEY, "E2E_DEEPSEEK_KEY": "sk-e2e-deepseek-000000000000"}
WEEKLY = (1.0, 1.1, 1.15, 1.05, 0.9, 0.35, 0.3)


@dataclass
class Demo:
    url: str
    engine: Engine
    app: object


def tracked_traffic(engine: Engine, now: datetime) -> None:
    """30 days of proxy traffic on openai-main with a weekly rhythm and two teams."""
    events = []
    for back in range(30):
        day = day_start(now.date() - timedelta(days=back))
        for n in range(int(40 * WEEKLY[day.weekday()])):
            ts = day + timedelta(minutes=17 * n)
            if ts > now:
                break
            model = ("gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "o4-mini-2025-04-16")[n % 3]
            events.append(UsageEvent(
                id=f"e2e-{day.date()}-{n}", account="openai-main", provider="openai", ts=ts, model=model,
                endpoint="/v1/chat/completions", source="proxy", input_tokens=2000 + 37 * n, output_tokens=400 + n,
                cached_input_tokens=500, key_fingerprint="fp_demo00000001", tags={"team": ("search", "chat")[n % 2]},
                status_code=200, cost=Decimal("0.0125") + Decimal(n) / 1000, currency="USD",
                price_source="genai-prices"))
    store_events(engine, events)


@pytest.fixture(scope="session")
def browser_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (make test installs it)")
    return CHROMIUM


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    previous = {name: os.environ.get(name) for name in KEYS}
    os.environ.update(KEYS)
    fakes = [FakeOpenAI(days=90, keys={KEYS["E2E_OPENAI_KEY"]}), FakeAnthropic(days=60), FakeXAI(days=60),
             FakeDeepSeek(keys={KEYS["E2E_DEEPSEEK_KEY"]})]
    for fake in fakes:
        fake.start()
    openai, anthropic, xai, deepseek = fakes
    config = parse_config({"accounts": {
        "openai-main": {"provider": "openai", "key_env": "E2E_OPENAI_KEY", "base_url": openai.url,
                        "monthly_limit": "900.00"},
        "anthropic": {"provider": "anthropic", "key_env": "E2E_ANTHROPIC_KEY", "base_url": anthropic.url},
        "xai-team": {"provider": "xai", "key_env": "E2E_XAI_KEY", "base_url": "http://127.0.0.1:9",
                     "management_base_url": xai.url, "team_id": DEFAULT_TEAM_ID},
        "deepseek": {"provider": "deepseek", "key_env": "E2E_DEEPSEEK_KEY", "base_url": deepseek.url},
    }}, None)
    engine = open_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    now = datetime.now(UTC)
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API may already own this thread's event loop
        report = pool.submit(run_sync, config, engine, since=now.date() - timedelta(days=60)).result()
    assert report.status == "ok", [r.as_dict() for r in report.failures]
    tracked_traffic(engine, now)
    for account, amount in (("openai-main", "2500.00"), ("anthropic", "1200.00")):
        add_entry(engine, account=account, kind="deposit", amount=Decimal(amount), currency="USD",
                  at=day_start(now.date() - timedelta(days=45)), expires_at=None, note="top-up", created_at=now)
    app = create_app(config, engine, demo=True, scheduler=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    app.state.scheduler.jobs.clear()  # "sync now" only: the tests compare figures that must stand still
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Demo(f"http://127.0.0.1:{port}", engine, app)
    finally:
        server.should_exit = True
        thread.join()
        for fake in fakes:
            fake.stop()
        engine.dispose()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
    """Into the test's directory; into docs/screenshots too when CREDITGAUGE_UPDATE_SCREENSHOTS=1."""
    target = tmp_path / name
    page.screenshot(path=str(target), full_page=True)  # type: ignore[attr-defined]
    assert target.stat().st_size > 10_000
    if os.environ.get("CREDITGAUGE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, SCREENSHOTS / name)
    return target
