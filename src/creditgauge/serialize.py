"""The public JSON shape of values: the CLI's --json and the API both go through here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def jsonable(value: Any) -> Any:
    """Decimals become strings (exact), datetimes ISO 8601 UTC with Z, dates YYYY-MM-DD."""
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation: 110, not 1.1E+2
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
