"""Commands are registered explicitly: each command module's register(app) adds its commands to the app it is
given, and cli.app lists every such module once."""

from __future__ import annotations

import importlib
import pkgutil

import typer

import creditgauge.cli
from creditgauge.cli.app import COMMAND_MODULES


def command_modules() -> set[str]:
    names = (info.name for info in pkgutil.iter_modules(creditgauge.cli.__path__))
    return {name for name in names if hasattr(importlib.import_module(f"creditgauge.cli.{name}"), "register")}


def test_the_app_registers_every_command_module_once() -> None:
    listed = [module.__name__.rsplit(".", 1)[1] for module in COMMAND_MODULES]
    assert len(listed) == len(set(listed))
    assert set(listed) == command_modules()


def test_importing_a_command_module_registers_nothing_until_asked() -> None:
    from creditgauge.cli import ledger, reports

    bare = typer.Typer()
    assert not bare.registered_commands and not bare.registered_groups
    ledger.register(bare)
    reports.register(bare)
    assert [info.callback.__name__ for info in bare.registered_commands if info.callback] == ["spend", "usage"]
    assert [info.name for info in bare.registered_groups] == ["ledger"]
