"""What every command uses: the config and the store it works on (loaded once per run), and how it prints a table,
JSON or CSV."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from creditgauge.config import Config, load_config
from creditgauge.csv_safety import SafeDictWriter
from creditgauge.errors import ConfigError
from creditgauge.serialize import jsonable
from creditgauge.service.session import Session, open_engine

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class Globals:
    config_path: Path | None = None
    config_named_by: str | None = None  # "-c" or "$CREDITGAUGE_CONFIG" when the user named the file
    verbose: bool = False
    no_config_note: str | None = None
    _config: Config | None = None
    _engine: Engine | None = None


state = Globals()


def load_once() -> Config:
    """The config, read on first use in this run."""
    if state._config is None:
        state._config = load_config(state.config_path, named_by=state.config_named_by)
    return state._config


def get_config() -> Config:
    """The config; when the default file is absent (an empty config), a line on stderr after the command's answer
    says so and how to add accounts."""
    config = load_once()
    if not config.accounts and config.path is not None and not config.path.exists():
        state.no_config_note = f"note: no config at {config.path}, so no accounts; run `creditgauge init` to write one"
    return config


def get_engine() -> Engine:
    if state._engine is None:
        state._engine = open_engine(get_config().resolved_database_url())
    return state._engine


def get_session() -> Session:
    """The config and the store, as the service layer takes them."""
    return Session(config=get_config(), engine=get_engine())


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
