"""JSON and CSV responses in the CLI's shapes: decimals as exact strings, times ISO 8601 UTC, dates YYYY-MM-DD."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from creditgauge.csv_safety import SafeDictWriter
from creditgauge.serialize import jsonable


def _encode(value: Any) -> Any:
    """What the JSON encoder cannot write itself, converted as `jsonable` does (Decimals and times; str enums and
    tuples the encoder already writes the same way). Encoding in one pass keeps large reports fast."""
    if isinstance(value, Decimal | date | Enum):
        return jsonable(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class ApiJSON(JSONResponse):
    """The same conversion as `--json`, so the API and the CLI print the same document for the same question."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_encode, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


JSON_PATHS = ("/api/", "/metrics")


def wants_json(request: Request) -> bool:
    """The API and machines get JSON; a browser (Accept: text/html first) gets a page."""
    if request.url.path.startswith(JSON_PATHS):
        return True
    accept = request.headers.get("accept", "").lower()
    json_at, html_at = accept.find("application/json"), accept.find("text/html")
    return json_at >= 0 and (html_at < 0 or json_at < html_at)


def error_json(status: int, message: str) -> ApiJSON:
    return ApiJSON({"error": message}, status_code=status)


def csv_response(rows: Sequence[dict[str, Any]], columns: Sequence[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else jsonable(value) for key, value in row.items()})
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})
