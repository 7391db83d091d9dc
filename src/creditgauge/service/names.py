"""Names beside ids: every report row that has a `project`, `api_key` or `workspace` id gets the name the provider
gave it (`project_name`, `api_key_name`, `workspace_name`) right after the id, or None where no name is known."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine

from creditgauge.store.names import Entity, entities

NAME_COLUMNS = {"project": "project_name", "api_key": "api_key_name", "workspace": "workspace_name"}


class Names:
    """Look up a name by account, kind and id; an id seen under another account of the same provider still finds
    its name (ids such as `proj_…` and `key_…` are unique across accounts)."""

    def __init__(self, found: Iterable[Entity]) -> None:
        self._exact: dict[tuple[str, str, str], Entity] = {}
        self._any: dict[tuple[str, str], Entity] = {}
        for entity in found:
            self._exact[entity.account, entity.kind, entity.entity_id] = entity
            self._any.setdefault((entity.kind, entity.entity_id), entity)

    def entity(self, kind: str, entity_id: str | None, account: str | None = None) -> Entity | None:
        if entity_id is None:
            return None
        return self._exact.get((account or "", kind, entity_id)) or self._any.get((kind, entity_id))

    def name(self, kind: str, entity_id: str | None, account: str | None = None) -> str | None:
        found = self.entity(kind, entity_id, account)
        return found.name if found else None


def named_text(text: str, names: Names) -> str:
    """`text` with each word that is a project, key or workspace id followed by its name: an alert's subject
    ("openai key key_Dg3…") reads "openai key key_Dg3… (prototype-2024)"."""
    words = []
    for word in text.split(" "):
        found = next((entity for kind in ("api_key", "project", "workspace")
                      if (entity := names.entity(kind, word)) is not None), None)
        words.append(f"{word} ({found.name})" if found else word)
    return " ".join(words)


def load_names(engine: Engine) -> Names:
    return Names(entities(engine))


def with_name_columns(columns: Sequence[str]) -> list[str]:
    """`columns` with each named dimension followed by its name column."""
    return [out for column in columns
            for out in ((column, NAME_COLUMNS[column]) if column in NAME_COLUMNS else (column,))]


def add_names(rows: list[dict[str, Any]], names: Names) -> None:
    """Put the name column right after each id column a row has (in place, keeping the column order)."""
    if not rows or not any(column in rows[0] for column in NAME_COLUMNS):
        return
    for index, row in enumerate(rows):
        named: dict[str, Any] = {}
        for key, value in row.items():
            named[key] = value
            if key in NAME_COLUMNS:
                named[NAME_COLUMNS[key]] = names.name(key, value, row.get("account"))
        rows[index] = named


__all__ = ["NAME_COLUMNS", "Names", "add_names", "load_names", "with_name_columns"]
