"""Anthropic Admin API (provider-apis §2): daily token usage, daily costs (decimal strings in cents), Claude Code
usage with its estimated cost, and the names of workspaces and API keys. Anthropic has no balance endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
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
    instant_field,
    optional_field,
    read_items,
    require,
    require_list,
)
from creditgauge.domain import Capability, CostBucket, EntityName, Fact, UsageBucket, Window, day_start
from creditgauge.errors import AuthError
from creditgauge.http import Params, paginate
from creditgauge.providers.record import Provider, StarterAccount

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
ACTOR_PREFIX = {"user_actor": "user", "api_actor": "api_key"}


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
            # Organizations without Claude Code get a 404 here: not available, not a failure.
            EndpointTask("claude_code", self.fetch_claude_code, optional=True),
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
            body: dict[str, Any] = await self._get(path, [*params, (cursor_param, cursor)] if cursor else params)
            return body

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
    def _count(self, obj: Any, key: str, path: str, *, required: bool = True) -> int:
        return count_field(obj, key, self, path, required=required) or 0

    def _report(self, path: str, buckets: list[Any], read: Callable[[datetime, datetime, Any], Fact]) -> list[Fact]:
        """Every result of every bucket; a bucket without its times, or a result that cannot be read, is one
        ItemProblem and the rest is still read."""

        def bucket_facts(bucket: Any) -> list[Fact]:
            start = instant_field(bucket, "starting_at", self, path)
            end = instant_field(bucket, "ending_at", self, path)
            return read_items(self, path, require_list(bucket, "results", self, path),
                              lambda item: [read(start, end, item)])

        return read_items(self, path, buckets, bucket_facts)

    # -- tasks ---------------------------------------------------------------------------------------------------
    async def fetch_usage(self, window: Window) -> list[Fact]:
        return self._report(USAGE_PATH, await self._report_buckets(USAGE_PATH, window, USAGE_GROUPS),
                            self._usage_bucket)

    def _usage_bucket(self, start: datetime, end: datetime, item: Any) -> UsageBucket:
        """Cache writes come as `cache_creation` {5m, 1h} (the report) or, in older answers, one flat count;
        `server_tool_use` is absent from older answers."""
        path = USAGE_PATH
        cache_creation = optional_field(item, "cache_creation")
        if isinstance(cache_creation, dict):
            write_5m = self._count(cache_creation, "ephemeral_5m_input_tokens", path, required=False)
            write_1h = self._count(cache_creation, "ephemeral_1h_input_tokens", path, required=False)
        else:
            write_5m, write_1h = self._count(item, "cache_creation_input_tokens", path, required=False), 0
        uncached = self._count(item, "uncached_input_tokens", path)
        cache_read = self._count(item, "cache_read_input_tokens", path, required=False)
        web_searches = self._count(optional_field(item, "server_tool_use"), "web_search_requests", path,
                                   required=False)
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
        return self._report(COST_PATH, await self._report_buckets(COST_PATH, window, COST_GROUPS), self._cost_bucket)

    def _cost_bucket(self, start: datetime, end: datetime, item: Any) -> CostBucket:
        amount = amount_field(item, "amount", self, COST_PATH, cents=True)  # a decimal string of US cents
        currency = str(optional_field(item, "currency") or "USD")  # documented as always "USD"
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

        async def one_day(day: datetime) -> list[Fact]:
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
        kind = optional_field(actor, "type")
        name = next((optional_field(actor, key) for key in ("email_address", "api_key_name", "id")
                     if optional_field(actor, key) is not None), None)
        if name is None:
            raise self.unreadable(CLAUDE_CODE_PATH, "actor", f"the actor {actor!r} names no user and no key")
        return f"{ACTOR_PREFIX.get(str(kind), str(kind))}:{name}"

    def _claude_code_buckets(self, records: list[Any]) -> list[Fact]:
        """Sum per day, actor and model (one actor may appear once per terminal type). A record is counted whole
        or, when any part of it cannot be read, not at all (an ItemProblem)."""
        path = CLAUDE_CODE_PATH
        totals: dict[tuple[datetime, str, str], dict[str, Any]] = {}

        def entry_of(entry: Any) -> tuple[str, dict[str, int], str, Decimal]:
            tokens, cost = require(entry, "tokens", self, path), require(entry, "estimated_cost", self, path)
            counts = {name: self._count(tokens, name, path, required=name in ("input", "output"))
                      for name in ("input", "output", "cache_read", "cache_creation")}
            currency = str(optional_field(cost, "currency") or "USD")
            amount = amount_field(cost, "amount", self, path, cents=True)
            return str(require(entry, "model", self, path)), counts, currency, amount

        def add(record: Any) -> list[Fact]:
            day, actor = day_field(record, "date", self, path), self._actor(record)
            for model, counts, currency, cents in [entry_of(e) for e in require_list(record, "model_breakdown",
                                                                                     self, path)]:
                row = totals.setdefault((day, actor, model), {**dict.fromkeys(counts, 0), "cost": {}})
                for name, count in counts.items():
                    row[name] += count
                row["cost"][currency] = row["cost"].get(currency, Decimal(0)) + cents
            return []

        problems = read_items(self, path, records, add)
        return problems + [
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
                                        str(require(item, "name", self, path)),
                                        _key_details(item) if kind == "api_key" else {}))
        return names

    async def fetch_workspaces(self, window: Window) -> list[Fact]:
        # Archived workspaces still appear in older reports, so their names are wanted too.
        params = [("limit", str(ITEMS_PER_PAGE)), ("include_archived", "true")]
        return await self._names("/v1/organizations/workspaces", "workspace", params)

    async def fetch_api_keys(self, window: Window) -> list[Fact]:
        return await self._names("/v1/organizations/api_keys", "api_key", [("limit", str(ITEMS_PER_PAGE))])


def _key_details(item: dict[str, Any]) -> dict[str, Any]:
    """What the key list says of a key beside its name: the hint Anthropic shows, its workspace, creator, status."""
    created_by = item.get("created_by")
    creator: dict[str, Any] = created_by if isinstance(created_by, dict) else {}
    return {"redacted": item.get("partial_key_hint"), "workspace": item.get("workspace_id"),
            "owner": creator.get("id"), "created_at": item.get("created_at"), "status": item.get("status")}
PROVIDER = Provider(
    connector=AnthropicConnector,
    display_name="Anthropic",
    inference_origin="https://api.anthropic.com",
    starter=StarterAccount("ANTHROPIC_ADMIN_KEY", "Admin API key (sk-ant-admin01-...): costs and usage",
                           hints=('monthly_limit = "200.00"   # your own limit, in the account currency',)),
    key_patterns=(r"sk-ant-[A-Za-z0-9_\-]{8,}",),
    sdk_modules=("anthropic",),
)
