"""`reconcile --by key|project|model` and `GET /api/v1/reconcile?by=`: the breakdown over the whole window, one row
per account, currency and value, with the provider's name beside each key and project id."""

from __future__ import annotations

from typing import Any

from creditgauge.analysis.reconcile import BREAKDOWNS
from creditgauge.errors import ConfigError


def parse_breakdown(text: str, option: str = "--by") -> str:
    if text not in BREAKDOWNS:
        raise ConfigError(f"{option} {text!r}: use one of {', '.join(BREAKDOWNS)}")
    return text


def breakdown_columns(dimension: str) -> list[str]:
    return ["account", dimension, f"{dimension}_name", "currency", "reported", "tracked", "difference",
            "flagged_days"]


def breakdown_document(report: dict[str, Any], dimension: str) -> dict[str, Any]:
    """From the reconcile document (`ReconcileReport.to_dict`), its breakdown by one dimension."""
    return {"since": report["since"], "until": report["until"], "by": dimension, "rows": report["by"][dimension],
            "flagged": report["flagged"], "skipped": report["skipped"]}


def breakdown_csv_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**row, "flagged_days": " ".join(str(day) for day in row["flagged_days"])} for row in document["rows"]]


__all__ = ["breakdown_columns", "breakdown_csv_rows", "breakdown_document", "parse_breakdown"]
