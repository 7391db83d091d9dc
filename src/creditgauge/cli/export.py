"""`creditgauge export`: spend as CSV, JSON or FOCUS, streamed to a file or stdout with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from creditgauge.cli.context import err_console, get_engine
from creditgauge.cli.reports import SINCE_HELP, UNTIL_HELP, report_query
from creditgauge.filesystem import file_error
from creditgauge.service import export as exporter
from creditgauge.service.reports import USAGE_SOURCES, report_window


def export(
    fmt: str = typer.Option(..., "--format", "-f", help="csv, json (the report envelope) or focus (FinOps FOCUS "
                            "columns, CSV)."),
    since: str = typer.Option(..., "--since", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", help=UNTIL_HELP),
    source: str = typer.Option("reported", "--source", help="reported (provider reports) or tracked (our capture)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file (default stdout)."),
) -> None:
    """Export spend at its finest grain for spreadsheets and FinOps tools. The FOCUS column mapping is in the
    README."""
    chosen_format = exporter.export_format(fmt)
    # an export lists the stored rows of one side; `best` is a blend of whole days that only `spend` computes
    query = report_query(since, until, [], source, [], USAGE_SOURCES)
    start, end = report_window(query)
    engine = get_engine()
    chosen: exporter.Source = "tracked" if query.source == "tracked" else "reported"
    total = exporter.count(engine, since=start, until=end, source=chosen)
    progress = Progress(TextColumn("export"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err_console, transient=True, disable=not err_console.is_terminal)
    created = output is not None and not output.exists()
    try:
        with progress:
            bar = progress.add_task("rows", total=total)
            target = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
            try:
                exporter.export(engine, target, fmt=chosen_format, since=start, until=end,
                                source=chosen, progress=lambda n: progress.advance(bar, n))
            finally:
                if output:
                    target.close()
    except OSError as exc:
        if output is None:
            raise
        if created:
            output.unlink(missing_ok=True)  # no half-written file left behind
        raise file_error(exc, "write the export to", output) from None
    if output:
        err_console.print(f"wrote {total} rows to {output}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(export)
