"""The Typer application: its global options, how an error reaches the terminal, and every command, registered
here in the order `--help` lists them."""

from __future__ import annotations

import logging
import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from creditgauge.cli import (
    alerts,
    balance,
    demo,
    export,
    guard,
    keys,
    ledger,
    proxy,
    quarantine,
    reconcile,
    reports,
    reprice,
    serve,
    setup,
    status,
    sync,
)
from creditgauge.cli.context import console, err_console, load_once, state
from creditgauge.config import CONFIG_ENV
from creditgauge.errors import CreditgaugeError
from creditgauge.filesystem import file_error
from creditgauge.redact import install_log_redaction, redact
from creditgauge.service.session import database_error

# Each module's register(app) adds its commands; this order is the order of `creditgauge --help`.
COMMAND_MODULES = (status, balance, demo, reports, export, guard, proxy, quarantine, reconcile, reprice, serve,
                   setup, sync, alerts, ledger, keys)


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
    config = load_once()
    if config.accounts:
        command = ctx.command.get_command(ctx, "status")  # type: ignore[attr-defined]
        with command.make_context("status", [], parent=ctx) as status_ctx:  # its defaults, as `creditgauge status`
            command.invoke(status_ctx)
    else:
        exists = config.path is not None and config.path.exists()
        console.print(FIRST_STEPS.format(path=config.path, why="names none" if exists else "does not exist",
                                         setup=EDIT_CONFIG if exists else WRITE_CONFIG),
                      markup=False, highlight=False, soft_wrap=True)


for module in COMMAND_MODULES:
    module.register(app)


def main() -> None:
    app(prog_name="creditgauge")  # the same name under `python -m creditgauge`
