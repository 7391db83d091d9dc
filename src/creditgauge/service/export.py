"""`creditgauge export`: spend at its finest stored grain as CSV, JSON or FOCUS, streamed row by row.

FOCUS is the FinOps Open Cost and Usage Specification; a FOCUS file lets LLM spend sit next to cloud spend in
FinOps tools. The mapping (one row per reported cost bucket, or per UTC day of tracked events with the same
account, model, project, key, endpoint and tags):

    FOCUS column          creditgauge
    BilledCost            amount (what the provider charged: reported; our priced estimate: tracked)
    EffectiveCost         amount (no amortised commitments are known, so equal to BilledCost)
    ListCost              amount (list prices: reported figures and genai-prices are both list prices)
    ContractedCost        amount (no negotiated discounts are known)
    BillingCurrency       currency
    ChargePeriodStart     bucket start (UTC, inclusive)            ChargePeriodEnd     bucket end (exclusive)
    BillingPeriodStart    first day of the bucket's month          BillingPeriodEnd    first day of the next month
    BillingAccountId/Name account (one creditgauge account = one provider credential)
    SubAccountId          project (or workspace when no project)   SubAccountName      the project's name
    ProviderName          the provider (OpenAI, Anthropic, xAI...), also PublisherName and InvoiceIssuerName
    ServiceName           "<provider> API"                         ServiceCategory     AI and Machine Learning
    SkuId                 model                                    ChargeDescription   line item, else model
    ResourceId            API key id (reported) or key fingerprint (tracked): never a key
    ConsumedQuantity      the bucket's quantity (reported), or input + output tokens (tracked)
    ConsumedUnit          the bucket's unit (reported), or Tokens (tracked)
    ChargeCategory        Usage                                    ChargeFrequency     Usage-Based
    PricingCategory       Standard
    Tags                  JSON object: project, workspace, service_tier, and the tracked event's tags
    x_Source              reported | tracked                       x_UnpricedRequests  tracked requests with no price

A tracked group whose every request is unpriced has empty cost columns (never 0).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TextIO

from sqlalchemy import Engine

from creditgauge.csv_safety import SafeDictWriter
from creditgauge.errors import ConfigError
from creditgauge.providers.registry import display_name
from creditgauge.store import queries
from creditgauge.store.facts import entity_name_map

Format = Literal["csv", "json", "focus"]
FORMATS: tuple[Format, ...] = ("csv", "json", "focus")
Source = queries.Source  # reported or tracked: an export lists the stored rows of one side
Progress = Callable[[int], None]

NATIVE_COLUMNS = (
    "start", "end", "account", "provider", "project", "project_name", "model", "line_item", "api_key", "workspace",
    "service_tier", "endpoint", "tags", "amount", "currency", "quantity", "quantity_unit", "input_tokens",
    "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "requests",
    "unpriced_requests", "source",
)
FOCUS_COLUMNS = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "ChargePeriodStart",
    "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd", "BillingAccountId", "BillingAccountName",
    "SubAccountId", "SubAccountName", "ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceName",
    "ServiceCategory", "SkuId", "ChargeDescription", "ChargeCategory", "ChargeFrequency", "PricingCategory",
    "ResourceId", "ConsumedQuantity", "ConsumedUnit", "Tags", "x_Source", "x_UnpricedRequests",
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def native_row(row: dict[str, Any], source: str, project_names: dict[tuple[str, str], str]) -> dict[str, Any]:
    """One export row in creditgauge's own column names (the same names as the CLI's reports)."""
    tracked = source == "tracked"
    return {
        "start": row["start_time"], "end": row["end_time"], "account": row["account"],
        "provider": row.get("provider"), "project": row.get("project"),
        "project_name": project_names.get((row["account"], row.get("project") or "")),
        "model": row.get("model"), "line_item": row.get("line_item"),
        "api_key": row.get("key_fingerprint") if tracked else row.get("api_key"),
        "workspace": row.get("workspace"), "service_tier": row.get("service_tier"),
        "endpoint": row.get("endpoint"), "tags": row.get("tags") or None,
        "amount": row["amount"], "currency": row["currency"],
        "quantity": row.get("quantity"), "quantity_unit": row.get("quantity_unit"),
        **{name: row.get(name) for name in queries.USAGE_MEASURES},
        "unpriced_requests": row.get("unpriced_requests"), "source": source,
    }


def focus_row(row: dict[str, Any]) -> dict[str, str]:
    """A native row as FOCUS columns (see the module's mapping)."""
    start: datetime = row["start"]
    month = datetime(start.year, start.month, 1, tzinfo=UTC)
    next_month = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    provider = display_name(row["provider"] or "")
    tokens = (row["input_tokens"] or 0) + (row["output_tokens"] or 0)
    tags = {k: v for k, v in (("project", row["project"]), ("workspace", row["workspace"]),
                              ("service_tier", row["service_tier"])) if v}
    tags.update(row["tags"] or {})
    tracked = row["source"] == "tracked"
    cost = _text(row["amount"])
    return {
        "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
        "BillingCurrency": row["currency"], "ChargePeriodStart": _iso(start), "ChargePeriodEnd": _iso(row["end"]),
        "BillingPeriodStart": _iso(month), "BillingPeriodEnd": _iso(next_month),
        "BillingAccountId": row["account"], "BillingAccountName": row["account"],
        "SubAccountId": _text(row["project"] or row["workspace"]), "SubAccountName": _text(row["project_name"]),
        "ProviderName": provider, "PublisherName": provider, "InvoiceIssuerName": provider,
        "ServiceName": f"{provider} API" if provider else "", "ServiceCategory": "AI and Machine Learning",
        "SkuId": _text(row["model"]), "ChargeDescription": _text(row["line_item"] or row["model"]),
        "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based", "PricingCategory": "Standard",
        "ResourceId": _text(row["api_key"]),
        "ConsumedQuantity": str(tokens) if tracked else _text(row["quantity"]),
        "ConsumedUnit": "Tokens" if tracked else _text(row["quantity_unit"]),
        "Tags": _text(tags), "x_Source": row["source"], "x_UnpricedRequests": _text(row["unpriced_requests"]),
    }


def export_format(text: str) -> Format:
    if text not in FORMATS:
        raise ConfigError(f"--format {text!r}: use csv, json or focus")
    return text


def rows(engine: Engine, *, since: datetime, until: datetime, source: Source) -> Iterator[dict[str, Any]]:
    names = entity_name_map(engine, "project")
    for row in queries.export_rows(engine, since=since, until=until, source=source):
        yield native_row(row, source, names)


def _write_csv(out: TextIO, items: Iterable[dict[str, Any]], columns: tuple[str, ...], progress: Progress) -> None:
    writer = SafeDictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for item in items:
        writer.writerow({key: _text(value) for key, value in item.items()})
        progress(1)


def _write_json(out: TextIO, items: Iterable[dict[str, Any]], header: dict[str, Any], progress: Progress) -> None:
    """The report envelope {since, until, source, rows, totals}, written as rows arrive (never all in memory)."""
    out.write("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in header.items()) + ',"rows":[')
    totals: dict[str, Decimal] = {}
    for index, item in enumerate(items):
        if item["amount"] is not None:
            totals[item["currency"]] = totals.get(item["currency"], Decimal(0)) + item["amount"]
        out.write(("," if index else "") + "\n" + json.dumps({k: _json_value(v) for k, v in item.items()}))
        progress(1)
    summed = [{"amount": str(amount), "currency": currency} for currency, amount in sorted(totals.items())]
    out.write('\n],"totals":' + json.dumps(summed) + "}\n")


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _iso(value)
    return value


def export(engine: Engine, out: TextIO, *, fmt: Format, since: datetime, until: datetime,
           source: Source, progress: Progress = lambda _n: None) -> None:
    """Write the export to `out`, calling `progress(n)` as rows are written."""
    items = rows(engine, since=since, until=until, source=source)
    if fmt == "focus":
        _write_csv(out, (focus_row(item) for item in items), FOCUS_COLUMNS, progress)
    elif fmt == "csv":
        _write_csv(out, items, NATIVE_COLUMNS, progress)
    else:
        _write_json(out, items, {"since": _iso(since), "until": _iso(until), "source": source}, progress)


def count(engine: Engine, *, since: datetime, until: datetime, source: Source) -> int:
    return queries.count_export_rows(engine, since=since, until=until, source=source)
