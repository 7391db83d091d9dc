"""Anthropic Admin API (provider-apis §2): daily token usage, daily costs (decimal strings in cents), Claude Code
usage with its estimated cost, and the names of workspaces and API keys. Anthropic has no balance endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from creditgauge.config import AccountConfig
from creditgauge.connectors.base import Connector, EndpointTask, require
from creditgauge.domain import Capability, CostBucket, EntityName, Fact, UsageBucket, Window, day_start, to_decimal
from creditgauge.errors import AuthError
from creditgauge.http import Params, paginate

API_VERSION = "2023-06-01"
ADMIN_KEY_PREFIX = "sk-ant-admin01-"
USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
CLAUDE_CODE_PATH = "/v1/organizations/usage_report/claude_code"
BUCKETS_PER_PAGE = 31  # the most 1d buckets a report page may hold
ITEMS_PER_PAGE = 100
DAYS_IN_FLIGHT = 4  # the Claude Code report takes one day per call; a few at once keeps a backfill short
USAGE_GROUPS = ("model", "workspace_id", "api_key_id", "service_tier")
COST_GROUPS = ("workspace_id", "description")
ONE_DAY = timedelta(days=1)


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class AnthropicConnector(Connector):
    provider = "anthropic"
    capabilities = frozenset({Capability.COSTS, Capability.USAGE})
    usage_not_reported = frozenset({"requests"})  # the usage and Claude Code reports count tokens, not requests
    default_base_url = "https://api.anthropic.com"
    key_kind = "Admin API key"
    # The prefix is spelt in two parts because a bare "sk-ant-admin01-" looks like a key to the redactor.
    key_help = ('Console > Settings > Admin keys; an Admin key starts with "sk-ant-" then "admin01-"; '
                "only organization admins can create one")
    notes = ("costs and token usage verified (Admin API); Claude Code cost is Anthropic's estimate; "
             "no balance endpoint, so the balance is estimated from the ledger")

    @classmethod
    def auth_headers(cls, key: str | None, account: AccountConfig) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if key:
            headers["x-api-key"] = key
        return headers

    def tasks(self) -> list[EndpointTask]:
        return [
            EndpointTask("messages_usage", self.fetch_usage),
            EndpointTask("cost_report", self.fetch_costs),
            EndpointTask("claude_code", self.fetch_claude_code),
            EndpointTask("workspaces", self.fetch_workspaces, windowed=False),
            EndpointTask("api_keys", self.fetch_api_keys, windowed=False),
        ]

    # -- requests ------------------------------------------------------------------------------------------------
    async def _get(self, path: str, params: Params) -> Any:
        try:
            return await self.client.get_json(path, params)
        except AuthError as error:
            hint = "" if (self.key or "").startswith(ADMIN_KEY_PREFIX) else "; the configured key is not one"
            raise error.with_hint(f"Usage and cost reports need an Admin API key ({self.key_help}){hint}",
                                  separator=". ") from None

    def _next_cursor(self, body: dict[str, Any], path: str, cursor_field: str) -> str | None:
        if not require(body, "has_more", self, path):
            return None
        cursor = require(body, cursor_field, self, path)
        if not isinstance(cursor, str) or not cursor:
            raise self.contract_error(path, f"has_more is true but {cursor_field} is {cursor!r}")
        return cursor

    async def _pages(self, path: str, params: list[tuple[str, str]], cursor_param: str,
                     cursor_field: str) -> AsyncIterator[list[Any]]:
        async def fetch(cursor: str | None) -> dict[str, Any]:
            return await self._get(path, [*params, (cursor_param, cursor)] if cursor else params)

        async for body in paginate(fetch, lambda body: self._next_cursor(body, path, cursor_field), what=path):
            data = require(body, "data", self, path)
            if not isinstance(data, list):
                raise self.contract_error(path, f"'data' should be a list, got {type(data).__name__}")
            yield data

    async def _report_buckets(self, path: str, window: Window, groups: Sequence[str]) -> list[dict[str, Any]]:
        if window.start >= window.end:
            return []
        params = [("starting_at", _rfc3339(window.start)), ("ending_at", _rfc3339(window.end)),
                  ("bucket_width", "1d"), ("limit", str(BUCKETS_PER_PAGE))]
        params += [("group_by[]", group) for group in groups]
        return [bucket async for page in self._pages(path, params, "page", "next_page") for bucket in page]

    # -- field readers -------------------------------------------------------------------------------------------
    def _count(self, obj: Any, key: str, path: str) -> int:
        value = require(obj, key, self, path)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.contract_error(path, f"{key!r} should be an integer count, got {value!r}")
        return value

    def _cents(self, obj: Any, key: str, path: str) -> Decimal:
        try:
            return to_decimal(require(obj, key, self, path), what=key) / 100
        except (TypeError, ValueError) as error:
            raise self.contract_error(path, str(error)) from None

    def _instant(self, obj: Any, key: str, path: str) -> datetime:
        value = require(obj, key, self, path)
        try:
            return datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise self.contract_error(path, f"{key!r} is not an RFC 3339 timestamp: {value!r}") from None

    def _span(self, bucket: Any, path: str) -> tuple[datetime, datetime, list[Any]]:
        results = require(bucket, "results", self, path)
        if not isinstance(results, list):
            raise self.contract_error(path, "'results' should be a list")
        return self._instant(bucket, "starting_at", path), self._instant(bucket, "ending_at", path), results

    # -- tasks ---------------------------------------------------------------------------------------------------
    async def fetch_usage(self, window: Window) -> list[Fact]:
        facts: list[Fact] = []
        for bucket in await self._report_buckets(USAGE_PATH, window, USAGE_GROUPS):
            start, end, results = self._span(bucket, USAGE_PATH)
            facts.extend(self._usage_bucket(start, end, item) for item in results)
        return facts

    def _usage_bucket(self, start: datetime, end: datetime, item: Any) -> UsageBucket:
        path = USAGE_PATH
        cache_creation = require(item, "cache_creation", self, path)
        write_5m = self._count(cache_creation, "ephemeral_5m_input_tokens", path)
        write_1h = self._count(cache_creation, "ephemeral_1h_input_tokens", path)
        uncached = self._count(item, "uncached_input_tokens", path)
        cache_read = self._count(item, "cache_read_input_tokens", path)
        web_searches = self._count(require(item, "server_tool_use", self, path), "web_search_requests", path)
        # DESIGN's token convention: input counts every input token, cache reads and writes included.
        return UsageBucket(
            start=start, end=end, kind="messages",
            model=item.get("model"), api_key=item.get("api_key_id"), workspace=item.get("workspace_id"),
            service_tier=item.get("service_tier"),
            input_tokens=uncached + cache_read + write_5m + write_1h,
            cached_input_tokens=cache_read,
            cache_write_tokens=write_5m + write_1h,
            output_tokens=self._count(item, "output_tokens", path),
            extra={"web_search_requests": web_searches, "cache_write_1h_tokens": write_1h},
        )

    async def fetch_costs(self, window: Window) -> list[Fact]:
        facts: list[Fact] = []
        for bucket in await self._report_buckets(COST_PATH, window, COST_GROUPS):
            start, end, results = self._span(bucket, COST_PATH)
            facts.extend(self._cost_bucket(start, end, item) for item in results)
        return facts

    def _cost_bucket(self, start: datetime, end: datetime, item: Any) -> CostBucket:
        amount = self._cents(item, "amount", COST_PATH)  # a decimal string of US cents
        currency = str(require(item, "currency", self, COST_PATH))
        extra: dict[str, Any] = {key: item[key] for key in ("token_type", "cost_type") if item.get(key)}
        if item.get("context_window"):
            # Same description and model in two context windows are two prices: keep them apart.
            extra["dim_context_window"] = item["context_window"]
        return CostBucket(
            start=start, end=end, amount=amount, currency=currency,
            workspace=item.get("workspace_id"), model=item.get("model"), service_tier=item.get("service_tier"),
            line_item=item.get("description"), extra=extra,
        )

    async def fetch_claude_code(self, window: Window) -> list[Fact]:
        """One call (and its pages) per UTC day: the report takes a single day. The cost in it is Anthropic's
        estimate, so it goes into the usage rows' extra and never into costs, where the cost report has it."""
        slots = asyncio.Semaphore(DAYS_IN_FLIGHT)

        async def one_day(day: datetime) -> list[UsageBucket]:
            params = [("starting_at", day.date().isoformat()), ("limit", str(ITEMS_PER_PAGE))]
            async with slots:
                pages = self._pages(CLAUDE_CODE_PATH, params, "page", "next_page")
                return self._claude_code_buckets([record async for page in pages for record in page])

        first, days = day_start(window.start), []
        try:
            async with asyncio.TaskGroup() as group:  # the first failure cancels the other days
                while first < window.end:
                    days.append(group.create_task(one_day(first)))
                    first += ONE_DAY
        except ExceptionGroup as failures:
            raise failures.exceptions[0] from None  # one clear error, like every other task
        return [bucket for day in days for bucket in day.result()]

    def _actor(self, record: Any) -> str:
        actor = require(record, "actor", self, CLAUDE_CODE_PATH)
        kind = require(actor, "type", self, CLAUDE_CODE_PATH)
        if kind == "user_actor":
            return f"user:{require(actor, 'email_address', self, CLAUDE_CODE_PATH)}"
        if kind == "api_actor":
            return f"api_key:{require(actor, 'api_key_name', self, CLAUDE_CODE_PATH)}"
        raise self.contract_error(CLAUDE_CODE_PATH, f"unknown actor type {kind!r}")

    def _claude_code_buckets(self, records: list[Any]) -> list[UsageBucket]:
        """Sum per day, actor and model (one actor may appear once per terminal type)."""
        path = CLAUDE_CODE_PATH
        totals: dict[tuple[datetime, str, str], dict[str, Any]] = {}
        for record in records:
            day, actor = day_start(self._instant(record, "date", path)), self._actor(record)
            for entry in require(record, "model_breakdown", self, path):
                tokens, cost = require(entry, "tokens", self, path), require(entry, "estimated_cost", self, path)
                row = totals.setdefault((day, actor, str(require(entry, "model", self, path))),
                                        {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0, "cost": {}})
                for name in ("input", "output", "cache_read", "cache_creation"):
                    row[name] += self._count(tokens, name, path)
                currency = str(require(cost, "currency", self, path))
                row["cost"][currency] = row["cost"].get(currency, Decimal(0)) + self._cents(cost, "amount", path)
        return [
            UsageBucket(
                start=day, end=day + ONE_DAY, kind="claude_code", model=model,
                input_tokens=row["input"] + row["cache_read"] + row["cache_creation"],
                cached_input_tokens=row["cache_read"], cache_write_tokens=row["cache_creation"],
                output_tokens=row["output"],
                extra={"dim_actor": actor, "estimated_cost": row["cost"]},
            )
            for (day, actor, model), row in totals.items()
        ]

    async def _names(self, path: str, kind: str, params: list[tuple[str, str]]) -> list[Fact]:
        names: list[Fact] = []
        async for page in self._pages(path, params, "after_id", "last_id"):
            for item in page:
                names.append(EntityName(kind, str(require(item, "id", self, path)),
                                        str(require(item, "name", self, path))))
        return names

    async def fetch_workspaces(self, window: Window) -> list[Fact]:
        # Archived workspaces still appear in older reports, so their names are wanted too.
        params = [("limit", str(ITEMS_PER_PAGE)), ("include_archived", "true")]
        return await self._names("/v1/organizations/workspaces", "workspace", params)

    async def fetch_api_keys(self, window: Window) -> list[Fact]:
        return await self._names("/v1/organizations/api_keys", "api_key", [("limit", str(ITEMS_PER_PAGE))])
