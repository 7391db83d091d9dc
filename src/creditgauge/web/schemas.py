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


class AlertsOverview(BaseModel):
    rules: list[dict[str, Any]]
    checks: list[dict[str, Any]] = Field(description="each rule over each subject, evaluated now (nothing sent): "
                                                     "value against threshold, firing (null: no data yet)")
    states: list[dict[str, Any]]
    history: list[dict[str, Any]]


class SyncOverview(BaseModel):
    runs: list[dict[str, Any]] = Field(description="recent sync runs, newest first")
    sources: list[dict[str, Any]] = Field(description="per account and endpoint: last success, last error")
    problems: list[dict[str, Any]] = Field(description="items each source's last sync could not store, and why")
    quarantined: dict[str, Any] = Field(description="tracked items kept aside, not stored as they came: "
                                                    "total, and the newest (when, kind, origin, account, reason)")


class SyncReportOut(BaseModel):
    run_id: str
    status: str = Field(description="ok, partial (some endpoints failed or some items were not stored) or failed")
    started_at: str
    finished_at: str | None
    requests: int
    error: str | None
    failed_tasks: int
    item_problems: int
    results: list[dict[str, Any]] = Field(description="per account and endpoint: ok, counts, error, problems")


class ApiError(BaseModel):
    error: str = Field(description="one readable line: what, where, how to fix")


# What dates.parse_day reads (empty = the default); a calendar check (no 02-30) is left to the server's 400.
DAY_PATTERN = r"^(|today|yesterday|month|\d{1,5}d|\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))$"
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}  # format=csv: the report's rows
ERROR_STATUSES: dict[int | str, dict[str, Any]] = {  # what any API route may answer besides its own statuses
    status: {"model": ApiError, "description": description} for status, description in {
        400: "bad input: a parameter or body the service cannot use (the message says which)",
        401: "this server has a token and the request did not carry it",
        403: "a foreign host (no token: loopback only) or a cross-site request",
        413: "the request body is over the limit",
        415: "API changes take a JSON body",
        429: "too many wrong tokens from this client: see Retry-After",
        503: "the database did not answer",
    }.items()}


class LedgerEntry(BaseModel):
    id: int
    account: str
    kind: str = Field(description="deposit | grant | adjust")
    amount: str = Field(description="exact decimal string")
    currency: str
    at: str = Field(description="ISO 8601 UTC")
    expires_at: str | None
    note: str | None


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


class IngestProblem(BaseModel):
    index: int | None = Field(description="the item's position in the batch; null when the whole body is refused")
    id: str | None = Field(description="the item's id, when it sent one")
    field: str | None = Field(description="the field at fault, dotted (tags.team); null for the item as a whole")
    message: str


class IngestAnswer(BaseModel):
    accepted: int = Field(description="items that passed validation (and are stored, or were already)")
    stored: int = Field(description="events new to the store")
    duplicates: int = Field(description="accepted items already stored, or repeated in this batch")
    rejected: int = Field(description="items refused, each listed in errors")
    errors: list[IngestProblem]
