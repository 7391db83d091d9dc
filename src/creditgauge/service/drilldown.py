"""Drill-down on the Spend and Usage pages: a report narrowed to one value of a dimension (`?model=gpt-4o&group=day`:
that model's days), and each row's share of its currency's total. The page, its CSV and its chart use the same rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from creditgauge.store.types import money


def drill_filter(params: Mapping[str, str], dimensions: Iterable[str]) -> tuple[str, str] | None:
    """The first dimension named in the query string (`key=...`): the rows kept are those with that value
    ("" keeps the rows that have none)."""
    for name in dimensions:
        if name in params:
            return name, params[name]
    return None


def report_by(group: str, narrowed: tuple[str, str] | None) -> str:
    """The `by` of the report behind a page: its group, plus the narrowed dimension when that is another one."""
    if narrowed is None or narrowed[0] == group:
        return group
    return f"{group},{narrowed[0]}"


def _matches(value: Any, wanted: str) -> bool:
    return (value is None and wanted == "") or (value is not None and str(value) == wanted)


def narrow_spend(report: dict[str, Any], narrowed: tuple[str, str] | None) -> dict[str, Any]:
    """Keep the rows of one dimension value and total them again per currency: a currency with a row of unknown
    amount and no known one stays unknown (None), as in the full report."""
    if narrowed is None:
        return report
    dimension, wanted = narrowed
    rows = [row for row in report["rows"] if _matches(row.get(dimension), wanted)]
    known: dict[str, Decimal] = {}
    for row in rows:
        if row["amount"] is not None:
            known[row["currency"]] = known.get(row["currency"], Decimal(0)) + row["amount"]
    currencies = sorted({row["currency"] for row in rows})
    totals = [{"amount": money(known[c]) if c in known else None, "currency": c} for c in currencies]
    narrowed_report = {**report, "rows": rows, "totals": totals}
    narrowed_report.pop("combined", None)  # the combined figure was for all rows
    if "unpriced_requests" in report:
        narrowed_report["unpriced_requests"] = sum(row.get("unpriced_requests", 0) for row in rows)
    return narrowed_report


def _shares(values: list[Decimal | None], buckets: list[str]) -> list[Decimal | None]:
    """Each value's share (0..1) of the sum of its bucket; None where the value is unknown or the sum is 0."""
    totals: dict[str, Decimal] = {}
    for value, bucket in zip(values, buckets, strict=True):
        if value is not None:
            totals[bucket] = totals.get(bucket, Decimal(0)) + value
    return [None if value is None or not totals[bucket] else value / totals[bucket]
            for value, bucket in zip(values, buckets, strict=True)]


def spend_shares(rows: list[dict[str, Any]]) -> list[Decimal | None]:
    """Each row's share of its currency's total (amounts in different currencies are never added)."""
    return _shares([row["amount"] for row in rows], [row["currency"] for row in rows])


def usage_shares(rows: list[dict[str, Any]]) -> list[Decimal | None]:
    """Each row's share of all tokens (input and output) on the page; Claude Code rows, kept out of the totals,
    get none."""
    tokens = [None if row.get("not_in_totals") or row["input_tokens"] is None or row["output_tokens"] is None
              else Decimal(row["input_tokens"] + row["output_tokens"]) for row in rows]
    return _shares(tokens, [""] * len(rows))
