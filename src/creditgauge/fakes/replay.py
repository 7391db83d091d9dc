"""A fake that replays captured provider answers: each (path, status, body) is served as it was recorded, numbers
digit for digit, whatever the query. The corpus under tests/real/ is replayed through the real connectors with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from creditgauge.fakes.server import FakeProvider, dumps


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded answer: served for every request whose path ends with `path` and whose query holds every
    pair of `query` (a later page: {"page": "<cursor>"})."""

    path: str
    body: Any
    status: int = 200
    content_type: str = "application/json"
    query: tuple[tuple[str, str], ...] = ()


class ReplayServer(FakeProvider):
    name = "replay"

    def __init__(self, answers: Sequence[Recorded]) -> None:
        super().__init__()
        self.answers = list(answers)

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._serve)

    async def _serve(self, request: web.Request) -> web.Response:
        # The most specific answer wins: the most query pairs, then the longest path, so "/dashboard/billing/usage"
        # and "/usage", or a first page and a later one, can live side by side.
        matches = [answer for answer in self.answers if request.path.endswith(answer.path)
                   and all(request.query.get(name) == value for name, value in answer.query)]
        if not matches:
            return web.json_response({"error": {"message": f"nothing recorded for {request.path}"}}, status=404)
        answer = max(matches, key=lambda a: (len(a.query), len(a.path)))
        text = answer.body if isinstance(answer.body, str) else dumps(answer.body)
        return web.Response(text=text, status=answer.status, content_type=answer.content_type)


__all__ = ["Recorded", "ReplayServer"]
