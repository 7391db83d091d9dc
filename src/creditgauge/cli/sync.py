"""`creditgauge sync`: pull provider data into the store, with a live progress display."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from creditgauge import clock
from creditgauge.cli.context import console, emit_json, err_console, get_config, get_engine, print_table
from creditgauge.dates import parse_day
from creditgauge.display import local_time
from creditgauge.errors import ConfigError
from creditgauge.sync import SyncReport, TaskResult, run_sync


class RichProgress:
    """One overall bar plus a line for what is being fetched right now; errors printed as they happen."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.overall = progress.add_task("sync", total=0)
        self.running: dict[tuple[str, str], TaskID] = {}

    def planned(self, account: str, sources: Sequence[str]) -> None:
        task = self.progress.tasks[self.overall]
        self.progress.update(self.overall, total=(task.total or 0) + len(sources))

    def started(self, account: str, source: str) -> None:
        self.running[(account, source)] = self.progress.add_task(f"  {account}: {source}", total=None)

    def finished(self, result: TaskResult) -> None:
        task_id = self.running.pop((result.account, result.source), None)
        if task_id is not None:
            self.progress.remove_task(task_id)
        self.progress.advance(self.overall)
        if not result.ok:
            self.progress.console.print(f"[red]failed[/red] {result.account}: {result.source}: {result.error}",
                                        markup=True, highlight=False)


def sync(
    account: list[str] = typer.Option(None, "--account", "-a", help="Only this account (repeatable)."),
    since: str | None = typer.Option(None, "--since", help="Re-read from this day (YYYY-MM-DD, 30d, month)."),
    full: bool = typer.Option(False, "--full", help="Ignore the high-water marks and backfill the whole period."),
    as_json: bool = typer.Option(False, "--json", help="Print the run as JSON (no progress display)."),
) -> None:
    """Pull provider data into the store: incremental, concurrent, idempotent."""
    config = get_config()
    if not config.accounts:
        raise ConfigError(f"no accounts configured in {config.path}; run `creditgauge init` and add one")
    since_day = parse_day(since, today=clock.now().date()) if since else None
    engine = get_engine()
    if as_json or not sys.stderr.isatty():
        report = run_sync(config, engine, accounts=account or None, since=since_day, full=full)
    else:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True) as progress:
            report = run_sync(config, engine, accounts=account or None, since=since_day, full=full,
                              progress=RichProgress(progress))
    if as_json:
        emit_json(report.as_dict())
    else:
        _print_report(report, config.display.time_zone)
    if report.status != "ok":
        raise typer.Exit(1)


PROBLEMS_SHOWN = 10  # item problems listed under the table; all of them are in --json and on the Sync page


def _outcome(result: TaskResult) -> tuple[str, str]:
    if not result.ok:
        return "FAILED", result.error or ""
    if result.note:
        return "n/a", result.note
    stored = ", ".join(f"{n} {k}" for k, n in result.counts.items() if n) or "nothing new"
    if result.problems:
        stored += f"; {len(result.problems)} item(s) not stored"
    return ("ok" if not result.problems else "partial"), stored


def _print_report(report: SyncReport, zone: str) -> None:
    rows = [(r.account, r.source, *_outcome(r)) for r in report.results]
    print_table(f"Sync {report.status}: {len(report.results)} endpoints, {report.requests} requests",
                [("account", "left"), ("endpoint", "left"), ("result", "left"), ("stored", "left")], rows)
    problems = [(r, p) for r in report.results for p in r.problems]
    for result, problem in problems[:PROBLEMS_SHOWN]:
        console.print(f"not stored: {result.account}: {problem.endpoint} {problem.field}: {problem.detail}",
                      markup=False, highlight=False)
    if len(problems) > PROBLEMS_SHOWN:
        console.print(f"... and {len(problems) - PROBLEMS_SHOWN} more item(s) not stored.", highlight=False)
    finished = local_time(report.finished_at or report.started_at, zone, named=True)
    console.print(f"Finished at {finished}.", markup=False, highlight=False)
    console.print(_closing_line(report), markup=False, highlight=False)


def _closing_line(report: SyncReport) -> str:
    details = "Details: creditgauge sync --json, or the Sync page of the dashboard."
    failed, total = len(report.failures), len(report.results)
    if total and failed == total:
        return f"Every endpoint failed ({failed}); nothing was stored. {details}"
    parts = []
    if failed:
        parts.append(f"{failed} of {total} endpoint(s) failed and stored nothing")
    if report.item_problems:
        parts.append(f"{report.item_problems} item(s) could not be stored")
    if not parts:
        return "Everything was stored."
    return f"{'; '.join(parts)}; everything else was stored. {details}"


def register(app: typer.Typer) -> None:
    app.command()(sync)
