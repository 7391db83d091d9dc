"""Gemini API (provider-apis §5): the Gemini API itself reports no spend. Request and token counts come from Cloud
Monitoring (timeSeries of generativelanguage.googleapis.com), money from the Cloud Billing export in BigQuery
(a parameterised jobs.query). Both take a Google OAuth token (google_auth.py), not the Gemini API key.

The billing export stores FLOAT64 amounts; the query casts them to NUMERIC (exact to 10^-9) before summing, and
BigQuery's REST API returns NUMERIC as strings, so money never passes through a binary float here."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import (
    Connector,
    EndpointTask,
    amount_field,
    count_field,
    day_field,
    decimal_field,
    instant_field,
    optional_field,
    read_items,
    require,
    require_list,
)
from creditgauge.domain import Capability, CostBucket, Fact, UsageBucket, Window, as_utc, day_start
from creditgauge.errors import AuthError, ConfigError, ProviderError
from creditgauge.google_auth import GoogleTokens
from creditgauge.http import ApiClient, RetryPolicy, paginate
from creditgauge.providers.record import Provider, ProviderOptions, StarterAccount

MONITORING_URL = "https://monitoring.googleapis.com"
BIGQUERY_URL = "https://bigquery.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/monitoring.read", "https://www.googleapis.com/auth/bigquery.readonly")
SERVICE = "generativelanguage.googleapis.com"
DEFAULT_BILLING_SERVICE = "Gemini API"  # service.description in the export; Google's exact string is unverified
DAY = timedelta(days=1)

REQUESTS_FILTER = (f'metric.type="serviceruntime.googleapis.com/api/request_count" AND resource.type="consumed_api" '
                   f'AND resource.labels.service="{SERVICE}"')
TOKENS_FILTER = (f'metric.type="serviceruntime.googleapis.com/quota/rate/net_usage" AND '
                 f'resource.type="consumer_quota" AND resource.labels.service="{SERVICE}"')

# project.dataset.table, each part as BigQuery allows it unquoted; checked because a table name cannot be a
# query parameter and is written into the SQL.
_TABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*(?:[.:][A-Za-z0-9\-]+)?\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")
COST_SQL = """
SELECT
  DATE(usage_start_time) AS day,
  sku.description AS sku,
  currency,
  SUM(CAST(cost AS NUMERIC)) AS cost,
  SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) AS c), 0)) AS credits
FROM `{table}`
WHERE service.description = @service
  AND usage_start_time >= @start AND usage_start_time < @end
GROUP BY day, sku, currency
ORDER BY day, sku, currency
"""
COST_COLUMNS = ("day", "sku", "currency", "cost", "credits")
PAGE_ROWS = 1000
POLL_TIMEOUT_MS = 10_000
MAX_POLLS = 30  # about five minutes of BigQuery waiting server-side, POLL_TIMEOUT_MS at a time


def _rfc3339(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp_parameter(name: str, moment: datetime) -> dict[str, Any]:
    return {"name": name, "parameterType": {"type": "TIMESTAMP"},
            "parameterValue": {"value": as_utc(moment).strftime("%Y-%m-%d %H:%M:%S+00:00")}}


class GeminiOptions(ProviderOptions):
    gcp_project: str | None = None  # the Google Cloud project whose Cloud Monitoring is read
    credentials_file: str | None = None  # a service-account key; absent: Application Default Credentials
    billing_table: str | None = None  # the Cloud Billing export table (project.dataset.table): cost
    billing_service: str | None = None  # service.description in the export (default "Gemini API")
    monitoring_base_url: str | None = None
    bigquery_base_url: str | None = None


class GeminiConnector(Connector):
    provider = "gemini"
    capabilities = frozenset({Capability.USAGE, Capability.COSTS})
    # What the proxy forwards to; sync reads monitoring_base_url and bigquery_base_url instead.
    default_base_url = "https://generativelanguage.googleapis.com"
    key_kind = "Google Cloud credentials (service account or Application Default Credentials)"
    key_help = "credentials_file = a service-account key, or GOOGLE_APPLICATION_CREDENTIALS"
    needs_key = False
    notes = (
        "Usage (requests, tokens by quota metric) from Cloud Monitoring for gcp_project; verified cost from the "
        "Cloud Billing export in BigQuery (billing_table, filtered by billing_service, net of credits) when "
        "billing_table is set. Needs roles/monitoring.viewer, and roles/bigquery.jobUser plus read access to the "
        "export dataset. Days are UTC; Google's invoices use Pacific time."
    )

    def __init__(self, account: AccountConfig, key: str | None, client: ApiClient, *, bigquery: ApiClient,
                 tokens: GoogleTokens, project: str) -> None:
        super().__init__(account, key, client)
        self.options = account.provider_options(GeminiOptions)
        self.bigquery = bigquery
        self.tokens = tokens
        self.project = project

    @classmethod
    def build(
        cls,
        account: AccountConfig,
        key: str | None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        **client_options: Any,
    ) -> GeminiConnector:
        who = f"account {account.name!r}"
        options = account.provider_options(GeminiOptions)
        if not options.gcp_project:
            raise ConfigError(f"{who}: gcp_project is not set; add gcp_project = \"<your Google Cloud project id>\"")
        if options.billing_table and not _TABLE.match(options.billing_table):
            raise ConfigError(f"{who}: billing_table {options.billing_table!r} is not project.dataset.table; "
                              f"use the export table's full name, e.g. my-proj.billing.gcp_billing_export_v1_XXXX")
        tokens = GoogleTokens(credentials_file=options.credentials_file, scopes=SCOPES, timeout=timeout, who=who)
        monitoring, bigquery = (
            ApiClient(cls.provider, url, secrets=[key], timeout=timeout, retry=retry, **client_options)
            for url in (options.monitoring_base_url or MONITORING_URL, options.bigquery_base_url or BIGQUERY_URL)
        )
        return cls(account, key, monitoring, bigquery=bigquery, tokens=tokens, project=options.gcp_project)

    def tasks(self) -> list[EndpointTask]:
        tasks = [EndpointTask("monitoring_usage", self.fetch_usage)]
        if self.options.billing_table:
            tasks.append(EndpointTask("billing_export", self.fetch_costs))
        return tasks

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.bigquery.aclose()

    async def _call(self, client: ApiClient, method: str, path: str, *, needs: str, **options: Any) -> Any:
        headers = {"authorization": f"Bearer {await self.tokens.token()}"}
        try:
            return await client.request_json(method, path, headers=headers, **options)
        except AuthError as exc:
            raise exc.with_hint(f"the {self.tokens.source} needs {needs}") from None

    # -- usage: Cloud Monitoring ---------------------------------------------------------------------------------
    async def fetch_usage(self, window: Window) -> Sequence[Fact]:
        requests, tokens = await asyncio.gather(self._series(REQUESTS_FILTER, window),
                                                self._series(TOKENS_FILTER, window))
        problems: list[Fact] = []
        request_counts: dict[tuple[datetime, str], int] = defaultdict(int)
        for series in requests:
            code_class = str(self._labels(series).get("response_code_class", ""))
            for day, value in self._points(series, window, problems):
                request_counts[day, code_class] += value
        token_counts: dict[tuple[datetime, str], int] = defaultdict(int)
        for series in tokens:
            metric = str(self._labels(series).get("quota_metric", ""))
            # Request quotas meter the same calls request_count already counts; only token quotas add facts.
            if "token" not in metric:
                continue
            for day, value in self._points(series, window, problems):
                token_counts[day, metric] += value
        facts: list[Fact] = problems + [
            UsageBucket(start=day, end=day + DAY, kind="requests", requests=count,
                        extra={"dim_response_code_class": code_class})
            for (day, code_class), count in sorted(request_counts.items())
        ]
        # Gemini's token quotas meter input tokens; a metric named for output tokens is counted as output.
        facts += [
            UsageBucket(start=day, end=day + DAY, kind="tokens", extra={"dim_quota_metric": metric},
                        input_tokens=0 if "output" in metric else count,
                        output_tokens=count if "output" in metric else 0)
            for (day, metric), count in sorted(token_counts.items())
        ]
        return facts

    @property
    def _monitoring_endpoint(self) -> str:
        return f"GET /v3/projects/{self.project}/timeSeries"

    async def _series(self, filter_: str, window: Window) -> list[dict[str, Any]]:
        path = f"/v3/projects/{self.project}/timeSeries"
        params = {
            "filter": filter_,
            "interval.startTime": _rfc3339(window.start),
            "interval.endTime": _rfc3339(window.end),
            "aggregation.alignmentPeriod": "86400s",  # with a midnight-UTC end time, one point per UTC day
            "aggregation.perSeriesAligner": "ALIGN_SUM",
        }

        async def page(token: str | None) -> dict[str, Any]:
            body = await self._call(self.client, "GET", path, needs=f"roles/monitoring.viewer on project "
                                    f"{self.project}", params={**params, **({"pageToken": token} if token else {})})
            if not isinstance(body, dict):
                raise self.contract_error(self._monitoring_endpoint, "the response is not a JSON object")
            return body

        series: list[dict[str, Any]] = []
        async for body in paginate(page, lambda body: body.get("nextPageToken") or None, what="gemini timeSeries"):
            items = body.get("timeSeries", [])  # absent when nothing matched
            if not isinstance(items, list):
                raise self.contract_error(self._monitoring_endpoint, "timeSeries is not a list")
            series.extend(items)
        return series

    def _labels(self, series: Any) -> dict[str, Any]:
        metric = require(series, "metric", self, self._monitoring_endpoint)
        labels = metric.get("labels") if isinstance(metric, dict) else None
        return labels if isinstance(labels, dict) else {}

    def _points(self, series: dict[str, Any], window: Window, problems: list[Fact]) -> list[tuple[datetime, int]]:
        """(day, count) of every readable point in the window; an unreadable point is one ItemProblem."""
        endpoint = self._monitoring_endpoint
        result = []

        def read(point: Any) -> list[Fact]:
            interval = require(point, "interval", self, endpoint)
            start = (instant_field(interval, "startTime", self, endpoint) if optional_field(interval, "startTime")
                     else instant_field(interval, "endTime", self, endpoint) - DAY)
            value = require(point, "value", self, endpoint)
            # proto3 JSON writes int64 as a string; a DOUBLE series would send doubleValue (parsed as Decimal).
            field = "int64Value" if optional_field(value, "int64Value") is not None else "doubleValue"
            count = count_field(value, field, self, endpoint)
            if day_start(start) in window and count is not None:
                result.append((day_start(start), count))
            return []

        problems.extend(read_items(self, endpoint, require_list(series, "points", self, endpoint), read))
        return result

    # -- costs: the Cloud Billing export in BigQuery -------------------------------------------------------------
    async def fetch_costs(self, window: Window) -> Sequence[Fact]:
        table = str(self.options.billing_table)
        service = self.options.billing_service or DEFAULT_BILLING_SERVICE
        request = {
            "query": COST_SQL.format(table=table),
            "useLegacySql": False,
            "parameterMode": "NAMED",
            "queryParameters": [
                {"name": "service", "parameterType": {"type": "STRING"}, "parameterValue": {"value": service}},
                _timestamp_parameter("start", window.start),
                _timestamp_parameter("end", window.end),
            ],
            "maxResults": PAGE_ROWS,
            "timeoutMs": POLL_TIMEOUT_MS,
        }
        facts: list[Fact] = []
        async for fields, rows in self._query(request):
            def read(row: Any, names: list[str] = fields) -> list[Fact]:
                return [self._cost_bucket(self._row(names, row), window, service)]

            facts.extend(read_items(self, self._query_endpoint, rows, read))
        return facts

    @property
    def _query_endpoint(self) -> str:
        return f"POST /bigquery/v2/projects/{self.project}/queries"

    async def _query(self, request: dict[str, Any]) -> AsyncIterator[tuple[list[str], list[Any]]]:
        """Run jobs.query, then follow getQueryResults while the job is running (jobComplete false) and while
        pages remain (pageToken). Yields (column names, rows in the f/v shape) per completed page."""
        needs = (f"roles/bigquery.jobUser on project {self.project} and roles/bigquery.dataViewer on the dataset "
                 f"of {self.options.billing_table}")
        body = await self._call(self.bigquery, "POST", f"/bigquery/v2/projects/{self.project}/queries",
                                needs=needs, json_body=request)
        job = require(require(body, "jobReference", self, self._query_endpoint), "jobId", self, self._query_endpoint)
        location = body["jobReference"].get("location")
        results_path = f"/bigquery/v2/projects/{self.project}/queries/{job}"
        polls, seen = 0, set()
        while True:
            if require(body, "jobComplete", self, self._query_endpoint) is True:
                yield self._columns(body), body.get("rows", [])  # rows are absent when the result is empty
                token = body.get("pageToken")
                if not token or token in seen:
                    return
                seen.add(token)
                params = {"pageToken": token, "maxResults": PAGE_ROWS}
            else:
                polls += 1
                if polls > MAX_POLLS:
                    raise ProviderError(f"gemini GET {results_path}: the billing query did not finish after "
                                        f"{MAX_POLLS} polls; try again later", provider=self.provider)
                params = {"timeoutMs": POLL_TIMEOUT_MS, "maxResults": PAGE_ROWS}
            if location:
                params["location"] = location
            body = await self._call(self.bigquery, "GET", results_path, needs=needs, params=params)

    def _columns(self, body: Any) -> list[str]:
        fields = require(require(body, "schema", self, self._query_endpoint), "fields", self, self._query_endpoint)
        names = [str(require(field, "name", self, self._query_endpoint)) for field in fields]
        missing = [name for name in COST_COLUMNS if name not in names]
        if missing:
            raise self.contract_error(self._query_endpoint, f"the result has no column {missing[0]!r}")
        return names

    def _row(self, names: list[str], row: Any) -> dict[str, Any]:
        cells = require_list(row, "f", self, self._query_endpoint)
        if len(cells) != len(names):
            raise self.unreadable(self._query_endpoint, "f", f"row {row!r} does not match the result schema")
        return {name: require(cell, "v", self, self._query_endpoint) for name, cell in zip(names, cells, strict=True)}

    def _cost_bucket(self, row: dict[str, Any], window: Window, service: str) -> CostBucket:
        endpoint = self._query_endpoint
        day = day_field(row, "day", self, endpoint)
        cost = amount_field(row, "cost", self, endpoint)
        credits = decimal_field(row, "credits", self, endpoint, required=False) or Decimal(0)  # null: no credits
        if not row["currency"]:
            raise self.unreadable(endpoint, "currency", f"row {row!r} has no currency")
        if day not in window:
            raise self.unreadable(endpoint, "day", f"row for {day.date()} is outside the queried window")
        # Credits are negative: what the account is charged is cost + SUM(credits.amount).
        return CostBucket(start=day, end=day + DAY, amount=cost + credits, currency=str(row["currency"]),
                          line_item=row["sku"], extra={"gross": str(cost), "credits": str(credits),
                                                       "service": service})


PROVIDER = Provider(
    connector=GeminiConnector,
    display_name="Google",
    options=GeminiOptions,
    inference_origin="https://generativelanguage.googleapis.com",
    catalog_id="google",
    starter=StarterAccount(
        "GOOGLE_APPLICATION_CREDENTIALS",
        "Gemini: usage from Cloud Monitoring, cost from the Cloud Billing export in BigQuery "
        "(pip install 'creditgauge[google]')",
        key=False, lines=('gcp_project = "my-project"   # set your project',),
        hints=('billing_table = "my-project.billing.gcp_billing_export_v1_XXXXXX"',)),
    key_patterns=(r"AIza[0-9A-Za-z_\-]{20,}",),
    genai_names=("gcp.gemini", "gcp.gen_ai", "google", "google_genai", "google-genai"),
)
