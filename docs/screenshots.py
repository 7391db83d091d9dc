"""Regenerate the README's screenshots: the demo (as `creditgauge demo` builds it) served on 127.0.0.1 and
photographed by Debian's Chromium through Playwright, each page light and dark, on a desktop and a 390 px phone.

    .venv/bin/python docs/screenshots.py            # writes docs/screenshots/<page>-<theme>-<screen>.png
    .venv/bin/python docs/screenshots.py --days 90  # a shorter history builds faster
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import sync_playwright

from creditgauge.demo import DemoHandle, build_demo
from creditgauge.web import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
OUT = Path(__file__).resolve().parent / "screenshots"
PAGES = {"overview": "/", "spend": "/spend?range=30d&group=model", "keys": "/keys", "reconcile": "/reconcile"}
SCREENS = {"desktop": {"viewport": {"width": 1280, "height": 900}},
           "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                     "device_scale_factor": 2}}


def serve(days: int, workdir: Path) -> tuple[str, uvicorn.Server, threading.Thread, DemoHandle]:
    handle = build_demo(workdir, days=days)
    app = create_app(handle.config, handle.engine, demo=True, scheduler=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server, thread, handle


def shoot(url: str) -> list[Path]:
    pages = {name: path for name, path in PAGES.items() if httpx.get(url + path, timeout=30).status_code == 200}
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for screen, options in SCREENS.items():
            for theme in ("light", "dark"):
                context = browser.new_context(base_url=url, color_scheme=theme, **options)  # type: ignore[arg-type]
                page = context.new_page()
                for name, path in pages.items():
                    page.goto(path)
                    for chart in page.locator("[data-chart]").all():
                        chart.and_(page.locator("[data-ready='true']")).wait_for(timeout=20_000)
                    target = OUT / f"{name}-{theme}-{screen}.png"
                    page.screenshot(path=str(target), full_page=screen == "desktop")
                    written.append(target)
                context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=180)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cg-shots-") as workdir:
        url, server, thread, handle = serve(args.days, Path(workdir))
        try:
            for path in shoot(url):
                print(path.relative_to(OUT.parent.parent))
        finally:
            server.should_exit = True
            thread.join()
            handle.stop()


if __name__ == "__main__":
    main()
