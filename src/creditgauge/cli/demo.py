"""`creditgauge demo`: build the demo (fake providers, sync, tracked traffic), print what it shows under a DEMO DATA
banner, then serve the dashboard on it until Ctrl-C."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import webbrowser
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import typer
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from creditgauge import clock
from creditgauge.analysis.daily import spend_series, split_by_dimension
from creditgauge.analysis.reconcile import reconcile
from creditgauge.analysis.status import StatusReport, status
from creditgauge.cli.context import console, err_console, print_table
from creditgauge.cli.status import kind_label, shown, status_table
from creditgauge.demo import DemoHandle, build_demo
from creditgauge.demo.scenario import MAX_DAYS, MIN_DAYS, RUNNING_LOW
from creditgauge.filesystem import writable_directory
from creditgauge.ports import any_free_port, port_is_free, require_free_port
from creditgauge.providers.registry import connector_class
from creditgauge.service.keys import keys_report, keys_window
from creditgauge.service.reports import ReportQuery, Source, spend_report

SPEND_DAYS = 30
SOURCES_APART: tuple[Source, ...] = ("reported", "tracked")
HOST = "127.0.0.1"
DEFAULT_PORT = 8484


def demo(
    days: int = typer.Option(180, "--days", min=MIN_DAYS, max=MAX_DAYS, help="Days of generated history."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Print the tables and stop (no dashboard)."),
    port: int | None = typer.Option(None, "--port", help=f"Dashboard port on 127.0.0.1 (default {DEFAULT_PORT}, or "
                                    "a free port when that one is taken)."),
    keep: Path | None = typer.Option(None, "--keep", help="Keep the demo database and config in this directory "
                                     "(an earlier demo's files there are replaced); default: a temporary "
                                     "directory removed at the end."),
) -> None:
    """Fake providers with generated history, synced into a throwaway database, and the dashboard: demo data."""
    chosen_port = 0 if no_serve else dashboard_port(port)
    if keep is not None:
        writable_directory(keep, "keep the demo in")
    workdir = keep or Path(tempfile.mkdtemp(prefix="creditgauge-demo-"))
    try:
        handle = _build(workdir, days)
        try:
            _show(handle, kept=keep is not None)
            if not no_serve:
                _serve(handle, chosen_port)
        finally:
            handle.stop()
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def dashboard_port(asked: int | None) -> int:
    """The port asked for (which must be free), else DEFAULT_PORT, else any free port (said on stderr)."""
    if asked is not None:
        require_free_port(HOST, asked)
        return asked
    if port_is_free(HOST, DEFAULT_PORT):
        return DEFAULT_PORT
    chosen = any_free_port(HOST)
    err_console.print(f"port {DEFAULT_PORT} is in use: the dashboard will be on port {chosen}", markup=False,
                      highlight=False)
    return chosen


def _build(workdir: Path, days: int) -> DemoHandle:
    started = time.perf_counter()
    with err_console.status("building the demo") as spinner:
        def step(text: str) -> None:
            err_console.print(f"[dim]{time.perf_counter() - started:5.1f}s[/dim] {text}", highlight=False)
            spinner.update(text)

        handle = build_demo(workdir, days=days, progress=step)
    err_console.print(f"[dim]{time.perf_counter() - started:5.1f}s[/dim] ready", highlight=False)
    return handle


def _show(handle: DemoHandle, *, kept: bool) -> None:
    where = f"kept in {handle.workdir}" if kept else "deleted when the demo ends"
    console.print(Panel(
        "[bold]DEMO DATA[/bold]: every figure below comes from fake providers on 127.0.0.1 with generated history. "
        f"No real account, key or money is involved.\nDatabase: {handle.database_url} ({where}).",
        style="bold yellow", title="creditgauge demo", title_align="left"))
    for failure in handle.sync_report.failures:
        err_console.print(f"sync of {failure.account} {failure.source} failed: {failure.error}", markup=False)
    report = status(handle.config, handle.engine, now=clock.now())
    console.print(status_table(report))
    _what_is_verified(handle, report)
    _spend_by_provider(handle)
    _reconcile_flags(handle)
    _leak_suspects(handle)
    _story(handle, report)


def _spend_window() -> tuple[date, date]:
    """The last SPEND_DAYS days, today included: [since, until)."""
    today = clock.now().date()
    return today - timedelta(days=SPEND_DAYS - 1), today + timedelta(days=1)


def _what_is_verified(handle: DemoHandle, report: StatusReport) -> None:
    since, until = _spend_window()
    sides = {source: {row["account"] for row in spend_report(handle.engine, ReportQuery(
        since=since, until=until, by=["account"], source=source, today=clock.now().date()))["rows"]}
        for source in SOURCES_APART}
    rows = []
    for name, account in handle.config.accounts.items():
        mine = [row for row in report.rows if row.account == name]
        kinds = ", ".join(dict.fromkeys(f"{kind_label(row.balance)} ({row.currency})" for row in mine))
        reported, tracked = name in sides["reported"], name in sides["tracked"]
        spend = ("reported by the provider (verified)" if reported else "no spend API") + (
            "; tracked by the proxy too" if reported and tracked else "; tracked by the proxy" if tracked else "")
        capabilities = sorted(c.value for c in connector_class(account.provider).capabilities)
        rows.append((name, kinds, spend, ", ".join(capabilities) or "none: tracking only"))
    print_table("What is verified and what is not", [("account", "left"), ("balance", "left"), ("spend", "left"),
                                                     ("provider API gives", "left")], rows)


def _spend_by_provider(handle: DemoHandle) -> None:
    """Each day counted once: the provider's report where it has one, else the proxy's tracking."""
    since, until = _spend_window()
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (_account, currency, provider), amount in split_by_dimension(handle.engine, since=since, until=until,
                                                                     dimension="provider").items():
        totals[(provider or "-", currency)] += amount
    sources: dict[str, set[str]] = defaultdict(set)
    for series in spend_series(handle.engine, since=since, until=until).values():
        provider = handle.config.account(series.account).provider
        sources[provider] |= {src for day, src in series.sources.items() if since <= day < until}
    rows = [(provider, shown(amount), currency, " + ".join(sorted(sources[provider])))
            for (provider, currency), amount in sorted(totals.items())]
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for (_provider, currency), amount in totals.items():
        by_currency[currency] += amount
    print_table(f"Spend, last {SPEND_DAYS} days ({since} to {until - timedelta(days=1)}), by provider",
                [("provider", "left"), ("amount", "right"), ("currency", "left"), ("from", "left")], rows,
                caption="total: " + "  ".join(f"{shown(a)} {c}" for c, a in sorted(by_currency.items()))
                + " (never summed across currencies)")


def _reconcile_flags(handle: DemoHandle) -> None:
    result = reconcile(handle.config, handle.engine, since=handle.scenario.first, now=clock.now())
    compared = {row.account for row in result.rows}
    title = (f"Reconciliation, {handle.scenario.first} to {result.until}: {len(result.flagged)} of "
             f"{len(result.rows)} account-days flagged ({', '.join(sorted(compared)) or 'no account'} compared)")
    rows = [(row.account, row.day, f"{shown(row.reported)} {row.currency}", shown(row.tracked),
             shown(row.difference), row.explanation or "") for row in result.flagged if row.direction]
    skipped: dict[str, list[str]] = defaultdict(list)
    for name, reason in result.skipped.items():
        skipped[reason].append(name)
    notes = [f"not compared: {', '.join(names)}: {reason}" for reason, names in skipped.items()]
    print_table(title, [("account", "left"), ("day", "left"), ("reported", "right"), ("tracked", "right"),
                        ("difference", "right"), ("likely cause", "left")], rows, caption="\n".join(notes) or None)


def _leak_suspects(handle: DemoHandle) -> None:
    """The keys that spent beyond tracking, by name (`creditgauge keys` lists every key)."""
    keys = keys_report(handle.config, handle.engine, keys_window(today=clock.now().date(),
                                                                 days=handle.scenario.days))
    rows = [(row["api_key_name"] or row["api_key"], row["account"], row["redacted"] or "",
             " ".join(str(d["day"]) for d in row["suspect_days"]),
             f"{shown(row['suspect_amount'])} {row['currency']}") for row in keys["rows"] if row["leak_suspect"]]
    print_table(f"Leak suspects: {len(rows)} of {len(keys['rows'])} keys spent beyond tracking",
                [("key", "left"), ("account", "left"), ("redacted", "left"), ("days", "left"),
                 ("untracked", "right")], rows, caption="`creditgauge keys` lists every key")


def _story(handle: DemoHandle, report: StatusReport) -> None:
    launch, leak = handle.scenario.launch, handle.scenario.leak
    console.print("[bold]What to look for[/bold]")
    _point(f"{launch.day}: {launch.model} launches and takes {launch.share:.0%} of {launch.replaces}'s tokens "
           f"within {launch.ramp_days} days (usage by model, spend by line item)")
    _point(f"{leak.day}: the forgotten key {leak.key_name!r} of project {leak.project}, never seen by the proxy, "
           "spends heavily: reconciliation flags that day")
    for row in report.rows:
        if row.account == RUNNING_LOW:
            _point(f"{row.account}: {shown(row.balance.amount)} {row.currency} of credit left, "
                   f"{row.runway.days} days at the current burn: {row.state}")


def _point(text: str) -> None:
    """One thing to look for, indented as a whole: its wrapped lines stay under its first at any width."""
    console.print(Padding(Text(text), (0, 0, 0, 2)))


def _serve(handle: DemoHandle, port: int) -> None:
    from creditgauge.web import serve as run_server

    url = f"http://{HOST}:{port}/"
    console.print(Panel(
        f"Dashboard with DEMO DATA: {url}\nRecording proxy: OPENAI_BASE_URL={handle.proxy_url}/openai/v1 "
        "(any key) records your own calls into the demo.\nCtrl-C stops the dashboard, the proxy and every fake.",
        style="bold yellow"))
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()  # once the server is listening
    run_server(handle.config, handle.engine, host=HOST, port=port, demo=True,
               proxy_observers=handle.recorder.observers)


def register(app: typer.Typer) -> None:
    app.command()(demo)
