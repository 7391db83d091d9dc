"""Response shapes for the OpenAPI document. Routes return the analysis results as they are (no re-validation on
the hot path); these models say what they look like. Amounts are decimal strings, never JSON floats."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Amount(BaseModel):
    amount: str | None = Field(description="exact decimal string, e.g. \"12.34\"; null when nobody knows it "
                                           "(not posted yet and not tracked, or every request unpriced)")
    currency: str


class SpendReport(BaseModel):
    since: str = Field(description="ISO 8601 UTC, inclusive")
    until: str = Field(description="ISO 8601 UTC, exclusive")
    source: str = Field(description="best | reported | tracked")
    by: list[str]
    provisional_since: str | None = Field(None, description="days from this one on may still be revised")
    rows: list[dict[str, Any]] = Field(description="the `by` dimensions plus amount and currency")
    totals: list[Amount]
    unpriced_requests: int | None = Field(None, description="tracked only: requests with no known price")


class UsageReport(BaseModel):
    since: str
    until: str
    source: str
    by: list[str]
    provisional_since: str | None = None
    rows: list[dict[str, Any]] = Field(description="the `by` dimensions plus input_tokens, cached_input_tokens, "
                                                   "cache_write_tokens, output_tokens, reasoning_tokens, requests")
    totals: dict[str, int | None] = Field(description="null for a measure a provider does not report")


class Rows(BaseModel):
    rows: list[dict[str, Any]]


class ApiError(BaseModel):
    error: str = Field(description="one readable line: what, where, how to fix")


class LedgerEntryIn(BaseModel):
    account: str
    kind: str = Field(description="deposit | grant | adjust")
    amount: str = Field(description="decimal string, e.g. \"50.00\" (adjust may be negative)")
    currency: str | None = Field(None, description="default: the account's currency")
    at: str | None = Field(None, description="ISO 8601 time or YYYY-MM-DD; default now")
    expires: str | None = Field(None, description="grants: the day the grant expires")
    note: str | None = None


class SyncRequest(BaseModel):
    accounts: list[str] | None = Field(None, description="default: every configured account")
    full: bool = False
