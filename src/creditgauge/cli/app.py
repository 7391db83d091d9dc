"""The Typer application, its global options and the helpers every command uses to load, print and fail."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from creditgauge.config import CONFIG_ENV, Config, load_config
from creditgauge.csv_safety import SafeDictWriter
from creditgauge.errors import ConfigError, CreditgaugeError
from creditgauge.filesystem import file_error
from creditgauge.redact import install_log_redaction, redact
from creditgauge.serialize import jsonable

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class _Group(TyperGroup):
    """Turns every CreditgaugeError into one line on stderr and its exit code (2 config/usage, 1 runtime); what the
    file system or the database refused where no command expected it becomes such an error too, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            try:
                result = super().invoke(ctx)
            except BrokenPipeError:  # `creditgauge spend | head`: the reader has what it wanted
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
                ctx.exit(1)
            except OSError as exc:
                raise file_error(exc, "use") from None
            except SQLAlchemyError as exc:
                from creditgauge.store.engine import database_error

                raise database_error(exc, state._engine.url if state._engine else make_url("sqlite://")) from None
        except CreditgaugeError as error:
            err_console.print(f"error: {redact(str(error))}", markup=False, highlight=False, soft_wrap=True)
            ctx.exit(error.exit_code)
        if state.no_config_note:  # after the answer, so an error stays the one line on stderr
            err_console.print(state.no_config_note, markup=False, highlight=False, soft_wrap=True)
        return result


app = typer.Typer(
    cls=_Group,
    name="creditgauge",
    help="Spend, usage, balance and runway across every AI API account you pay for. With no command: the status "
         "(or what to do first, when nothing is set up).",
    invoke_without_command=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass
class Globals:
    config_path: Path | None = None
    config_named_by: str | None = None  # "-c" or "$CREDITGAUGE_CONFIG" when the user named the file
    verbose: bool = False
    no_config_note: str | None = None
    _config: Config | None = None
    _engine: Engine | None = None


state = Globals()

FIRST_STEPS = """\
No accounts yet: {path} {why}.
What to do first:
  creditgauge demo       try it on fake providers (nothing of yours is touched)
  {setup}
  creditgauge --help     every command"""
WRITE_CONFIG = "creditgauge init       write a starter config with the keys found in your env"
EDIT_CONFIG = "edit the config        uncomment the accounts you use, then export their keys"


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", help="Config file (default $CREDITGAUGE_CONFIG, "
                                       "else ~/.config/creditgauge/config.toml).", envvar=CONFIG_ENV,
                                       readable=False),  # an unreadable file gets creditgauge's own one line
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log HTTP retries and progress details."),
    _version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                  callback=lambda shown: _print_version() if shown else None),
) -> None:
    source = ctx.get_parameter_source("config")  # Typer's own copy of click's ParameterSource: compared by name
    state.config_path, state.verbose = config, verbose
    state.config_named_by = None if config is None else (
        f"${CONFIG_ENV}" if getattr(source, "name", "") == "ENVIRONMENT" else "-c")
    state._config = state._engine = state.no_config_note = None
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    install_log_redaction()
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        _status_or_first_steps(ctx)


def _print_version() -> None:
    console.print(f"creditgauge {version('creditgauge')}", markup=False, highlight=False)
    raise typer.Exit()


def _status_or_first_steps(ctx: typer.Context) -> None:
    """`creditgauge` alone: the status when accounts are configured, else the first steps."""
    config = _load_config()
    if config.accounts:
        command = ctx.command.get_command(ctx, "status")  # type: ignore[attr-defined]
        with command.make_context("status", [], parent=ctx) as status_ctx:  # its defaults, as `creditgauge status`
            command.invoke(status_ctx)
    else:
        exists = config.path is not None and config.path.exists()
        console.print(FIRST_STEPS.format(path=config.path, why="names none" if exists else "does not exist",
                                         setup=EDIT_CONFIG if exists else WRITE_CONFIG),
                      markup=False, highlight=False, soft_wrap=True)


def _load_config() -> Config:
    if state._config is None:
        state._config = load_config(state.config_path, named_by=state.config_named_by)
    return state._config


def get_config() -> Config:
    """The config; when the default file is absent (an empty config), a line on stderr after the command's answer
    says so and how to add accounts."""
    config = _load_config()
    if not config.accounts and config.path is not None and not config.path.exists():
        state.no_config_note = f"note: no config at {config.path}, so no accounts; run `creditgauge init` to write one"
    return config


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
    writer = SafeDictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
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
