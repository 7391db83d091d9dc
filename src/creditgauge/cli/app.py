"""The Typer application, its global options and the helpers every command uses to load, print and fail."""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from typer.core import TyperGroup

from creditgauge.config import Config, load_config
from creditgauge.errors import ConfigError, CreditgaugeError
from creditgauge.redact import install_log_redaction, redact
from creditgauge.serialize import jsonable

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class _Group(TyperGroup):
    """Turns every CreditgaugeError into one line on stderr and its exit code (2 config/usage, 1 runtime)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CreditgaugeError as error:
            err_console.print(f"error: {redact(str(error))}", markup=False, highlight=False, soft_wrap=True)
            ctx.exit(error.exit_code)


app = typer.Typer(
    cls=_Group,
    name="creditgauge",
    help="Spend, usage, balance and runway across every AI API account you pay for.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass
class Globals:
    config_path: Path | None = None
    verbose: bool = False
    _config: Config | None = None
    _engine: Engine | None = None


state = Globals()


@app.callback()
def _global_options(
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file (default $CREDITGAUGE_CONFIG, "
                                       "else ~/.config/creditgauge/config.toml).", envvar="CREDITGAUGE_CONFIG"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log HTTP retries and progress details."),
) -> None:
    state.config_path, state.verbose = config, verbose
    state._config = state._engine = None
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    install_log_redaction()


def get_config() -> Config:
    if state._config is None:
        state._config = load_config(state.config_path)
    return state._config


def get_engine() -> Engine:
    if state._engine is None:
        from creditgauge.store.engine import open_engine

        state._engine = open_engine(get_config().resolved_database_url())
    return state._engine


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def output_format(as_json: bool, as_csv: bool = False) -> OutputFormat:
    if as_json and as_csv:
        raise ConfigError("choose one of --json and --csv")
    return OutputFormat.json if as_json else OutputFormat.csv if as_csv else OutputFormat.table


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(payload), indent=2) + "\n")


def emit_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else jsonable(v)) for k, v in row.items()})


def print_table(title: str | None, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]],
                footer: Sequence[Any] | None = None, caption: str | None = None) -> None:
    """columns: (header, justify). Numbers are right-aligned by their column's justify."""
    table = Table(title=title, caption=caption, show_footer=footer is not None, header_style="bold",
                  caption_justify="left")
    for index, (header, justify) in enumerate(columns):
        table.add_column(header, justify=justify,  # type: ignore[arg-type]
                         footer="" if footer is None else str(footer[index]), no_wrap=justify == "right")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def main() -> None:
    from creditgauge.cli import commands  # noqa: F401  (registers every command on `app`)

    app(prog_name="creditgauge")  # the same name under `python -m creditgauge`
