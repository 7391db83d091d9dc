"""The names and details providers give the ids in their reports (projects, API keys, workspaces), as stored by
sync. A renamed entity has its new name; a deleted one keeps its last known name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from creditgauge.store import schema

KINDS = ("project", "api_key", "workspace")


@dataclass(frozen=True, slots=True)
class Entity:
    account: str
    kind: str
    entity_id: str
    name: str
    details: dict[str, Any] = field(default_factory=dict)


def entities(engine: Engine, kinds: tuple[str, ...] = KINDS) -> list[Entity]:
    table = schema.entity_names
    query = (select(table.c.account, table.c.kind, table.c.entity_id, table.c.name, table.c.details)
             .where(table.c.kind.in_(kinds)).order_by(table.c.account, table.c.kind, table.c.name))
    with engine.connect() as connection:
        return [Entity(row.account, row.kind, row.entity_id, row.name, row.details or {})
                for row in connection.execute(query)]


__all__ = ["KINDS", "Entity", "entities"]
