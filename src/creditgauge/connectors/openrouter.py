"""OpenRouter (provider-apis §6.1): credit balance, the key's own limit and usage, daily spend and tokens per model,
and the account's API keys by name. Amounts are US dollars as JSON numbers. `/credits`, `/activity` and `/keys` need
a management key; `/key` works with any key, so an ordinary key still yields its limit while the other tasks say
what key they need (the key list says it is not available).

The key list: `GET /keys?offset=&include_disabled=true` answers `{data: [{hash, name, label, disabled, limit, usage,
usage_daily/weekly/monthly, created_at, updated_at, creator_user_id, workspace_id, expires_at, ...}]}`, keys of the
default workspace unless `workspace_id` names another, so every workspace of `GET /workspaces?offset=&limit=`
(`{data: [{id, name, ...}], total_count}`) is asked in turn. [SPEC] OpenRouter's OpenAPI spec as vendored in
OpenRouterTeam/typescript-sdk @ `cb9393a` (2026-08-22) `.speakeasy/in.openapi.yaml` `GET /keys`, `GET /workspaces`;
[DOC] openrouter.ai/docs/api/api-reference/api-keys/list (read 2026-12-06), whose SDK example shows `label` as the
redacted key ("sk-or-v1-0e6...1c96"). `hash` is the key's id, not key material. Per-key `usage` is a running total
(all time, this UTC day, week, month) with no history: it cannot be told apart into days, so it is not stored as
spend (the daily spend is /activity's, per model)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from creditgauge.connectors.base import (
    NOT_OFFERED_STATUSES,
    Connector,
    EndpointTask,
    amount_field,
    count_field,
    day_field,
    decimal_field,
    optional_field,
    read_items,
    require,
    require_list,
)
from creditgauge.connectors.key_details import iso_time, key_status
from creditgauge.domain import (
    BalanceSnapshot,
    Capability,
    CostBucket,
    EndpointUnavailable,
    EntityName,
    Fact,
    LimitSnapshot,
    UsageBucket,
    Window,
    utcnow,
)
from creditgauge.errors import AuthError, ProviderError
from creditgauge.http import Params, paginate
from creditgauge.providers.record import Provider, StarterAccount

ACTIVITY_PATH = "/activity"
KEYS_PATH = "/keys"
WORKSPACES_PATH = "/workspaces"
PAGE_LIMIT = 100  # /workspaces serves at most 100 a page
ACTIVITY_DAYS = 30  # /activity serves the last 30 completed UTC days
KEY_FIGURES = ("usage", "usage_daily", "usage_weekly", "usage_monthly",
               "byok_usage", "byok_usage_daily", "byok_usage_weekly", "byok_usage_monthly")
ONE_DAY = timedelta(days=1)
DIMENSIONS = (("provider_name", "dim_provider"), ("endpoint_id", "dim_endpoint"))  # wire name, stored name


class OpenRouterConnector(Connector):
    provider = "openrouter"
    capabilities = frozenset({Capability.BALANCE, Capability.LIMITS, Capability.USAGE, Capability.COSTS})
    default_base_url = "https://openrouter.ai/api/v1"
    key_kind = "management key"
    key_help = "openrouter.ai > Settings > Management Keys (formerly Provisioning Keys)"
    notes = ("balance and daily spend per model verified with a management key (spend only for the last 30 "
             "completed UTC days); any key reads its own limit and usage; a management key lists the API keys by "
             "name (no daily spend per key)")

    def tasks(self) -> list[EndpointTask]:
        return [
            EndpointTask("credits", self.fetch_credits, windowed=False),
            EndpointTask("key", self.fetch_key, windowed=False),
            # Not windowed: a window reaching past the 30 days /activity serves must not erase the older days
            # stored by earlier syncs. Rows are upserted per day and model, so a revision still replaces.
            EndpointTask("activity", self.fetch_activity, windowed=False),
            # A server without the key list (an older relay) answers 404: not available, not a failure.
            EndpointTask("api_keys", self.fetch_api_keys, windowed=False, optional=True),
        ]

    async def _get(self, path: str, params: Params = None) -> Any:
        try:
            return await self.client.get_json(path, params)
        except AuthError as error:
            if error.status == 403:
                hint = (f"{path} needs an OpenRouter management key ({self.key_help}); "
                        "an ordinary key only reads its own limit and usage (/key)")
            else:
                hint = (f"OpenRouter refused the key: check it is current (the verified balance and daily spend "
                        f"need a management key: {self.key_help})")
            raise AuthError(f"{error}. {hint}", provider=error.provider, endpoint=error.endpoint,
                            status=error.status) from None

    async def fetch_credits(self, window: Window) -> list[Fact]:
        path = "/credits"
        data = require(await self._get(path), "data", self, path)
        credits, used = amount_field(data, "total_credits", self, path), amount_field(data, "total_usage", self, path)
        return [BalanceSnapshot(as_of=utcnow(), amount=credits - used, currency="USD",
                                details={"total_credits": credits, "total_usage": used})]

    async def fetch_key(self, window: Window) -> list[Fact]:
        """Older answers lack the daily/weekly/monthly figures, the byok ones and `limit_reset`: each is optional,
        and one that is absent is left out of the details (unknown), never stored as 0."""
        path = "/key"
        data = require(await self._get(path), "data", self, path)
        details: dict[str, Any] = {key: value for key in KEY_FIGURES
                                   if (value := decimal_field(data, key, self, path, required=False)) is not None}
        details["limit_remaining"] = decimal_field(data, "limit_remaining", self, path, required=False)
        for key in ("limit_reset", "is_free_tier", "include_byok_in_limit"):
            details[key] = optional_field(data, key)
        limit = decimal_field(data, "limit", self, path, required=False)
        if limit is None:
            return []  # an unlimited key: there is no limit to record
        return [LimitSnapshot(as_of=utcnow(), name="key_limit", amount=limit, currency="USD", details=details)]

    async def fetch_activity(self, window: Window) -> list[Fact]:
        """One call per UTC day of the window that /activity still serves: completed days, 30 at most."""
        today = utcnow().date()
        day = max(window.start.date(), today - timedelta(days=ACTIVITY_DAYS))
        last = min(window.end.date(), today)
        facts: list[Fact] = []
        while day < last:
            body = await self._get(ACTIVITY_PATH, {"date": day.isoformat()})
            facts.extend(self.parse_activity(body))
            day += ONE_DAY
        return facts

    def parse_activity(self, body: Any) -> list[Fact]:
        return read_items(self, ACTIVITY_PATH, require_list(body, "data", self, ACTIVITY_PATH), self._activity_facts)

    def _activity_facts(self, item: Any) -> tuple[CostBucket, UsageBucket]:
        """The day comes as "2026-08-23" (the spec) or "2026-08-23 00:00:00" (the live API)."""
        path = ACTIVITY_PATH
        start = day_field(item, "date", self, path)
        # Some answers name the model only by its permaslug.
        model = str(require(item, "model" if optional_field(item, "model") is not None else "model_permaslug", self,
                            path))
        # One model may be served by several providers and endpoints: each is its own row.
        dims = {name: str(value) for key, name in DIMENSIONS if (value := optional_field(item, key)) is not None}
        end: datetime = start + ONE_DAY
        extra: dict[str, Any] = dict(dims)
        byok = decimal_field(item, "byok_usage_inference", self, path, required=False)
        if byok is not None:
            extra["byok_usage_inference"] = byok
        cost = CostBucket(start=start, end=end, amount=amount_field(item, "usage", self, path), currency="USD",
                          model=model, extra=extra)
        usage = UsageBucket(start=start, end=end, kind="activity", model=model,
                            input_tokens=self._count(item, "prompt_tokens"),
                            output_tokens=self._count(item, "completion_tokens"),
                            reasoning_tokens=self._count(item, "reasoning_tokens", required=False),
                            requests=self._count(item, "requests"), extra=dims)
        return cost, usage

    def _count(self, item: Any, key: str, *, required: bool = True) -> int:
        return count_field(item, key, self, ACTIVITY_PATH, required=required) or 0

    async def fetch_api_keys(self, window: Window) -> list[Fact]:
        """The keys of every workspace (the list answers the default one's unless asked for another), and the
        workspaces' names."""
        try:
            workspaces = await self._workspaces()
            items = [item for workspace in workspaces or [None]
                     for item in await self._key_list(optional_field(workspace, "id"))]
        except AuthError:
            if not await self._key_works():
                raise
            return [EndpointUnavailable(KEYS_PATH, "not available for this account: listing the API keys needs a "
                                                   f"management key ({self.key_help}); this one is an ordinary key")]
        return [*read_items(self, WORKSPACES_PATH, workspaces, lambda item: [EntityName(
                    "workspace", str(require(item, "id", self, WORKSPACES_PATH)),
                    str(require(item, "name", self, WORKSPACES_PATH)))]),
                *read_items(self, KEYS_PATH, items, lambda item: [self._key_name(item)])]

    async def _workspaces(self) -> list[Any]:
        """Every workspace, or none when the server predates them (no /workspaces: the default one only)."""
        found: list[Any] = []

        async def fetch(offset: str | None) -> dict[str, Any]:
            page: dict[str, Any] = await self._get(WORKSPACES_PATH, {"offset": offset or "0", "limit": PAGE_LIMIT})
            found.extend(require_list(page, "data", self, WORKSPACES_PATH))
            return page

        def next_offset(page: dict[str, Any]) -> str | None:
            total = count_field(page, "total_count", self, WORKSPACES_PATH)
            return str(len(found)) if page["data"] and len(found) < (total or 0) else None

        try:
            async for _ in paginate(fetch, next_offset, what=f"openrouter {WORKSPACES_PATH}"):
                pass
        except ProviderError as error:
            if isinstance(error, AuthError) or error.status not in NOT_OFFERED_STATUSES:
                raise
            return []
        return found

    async def _key_list(self, workspace_id: Any) -> list[Any]:
        items: list[Any] = []
        seen: set[str] = set()
        scope = {"workspace_id": str(workspace_id)} if workspace_id else {}

        async def fetch(offset: str | None) -> dict[str, Any]:
            params = {"include_disabled": "true", "offset": offset or "0", **scope}
            page: dict[str, Any] = await self._get(KEYS_PATH, params)
            items.extend(require_list(page, "data", self, KEYS_PATH))
            return page

        def next_offset(page: dict[str, Any]) -> str | None:
            # The page size is not documented: ask on until a page brings no key not seen yet.
            hashes = {str(item.get("hash")) for item in page["data"] if isinstance(item, dict)}
            fresh = hashes - seen
            seen.update(hashes)
            return str(len(items)) if fresh else None

        async for _ in paginate(fetch, next_offset, what=f"openrouter {KEYS_PATH}"):
            pass
        return items

    async def _key_works(self) -> bool:
        """Whether OpenRouter accepts the configured key at all (/key answers any valid key)."""
        try:
            await self.client.get_json("/key")
        except AuthError:
            return False
        return True

    def _key_name(self, item: Any) -> EntityName:
        """One listed key: its name, the label OpenRouter shows for it (the redacted key), its creator and
        workspace, when it was created and last used (when the answer says), and whether it is disabled or
        expired."""
        path = KEYS_PATH
        key_hash = str(require(item, "hash", self, path))
        label = optional_field(item, "label")
        redacted = label if _looks_redacted(label) else None
        return EntityName("api_key", key_hash, str(optional_field(item, "name") or redacted or key_hash), {
            "redacted": redacted,
            "owner": optional_field(item, "creator_user_id"), "workspace": optional_field(item, "workspace_id"),
            "created_at": iso_time(optional_field(item, "created_at")),
            "last_used_at": iso_time(optional_field(item, "last_used_at")),
            "status": key_status(optional_field(item, "disabled"), optional_field(item, "expires_at")),
        })


def _looks_redacted(label: Any) -> bool:
    """The label is kept as the redacted key only when it is one ("sk-or-v1-0e6...1c96"): some answers carry a
    human label there instead, and a whole key must never be stored."""
    return isinstance(label, str) and label.startswith("sk-or-") and ("..." in label or "*" in label)


PROVIDER = Provider(
    connector=OpenRouterConnector,
    display_name="OpenRouter",
    inference_origin="https://openrouter.ai",  # paths start with /api/v1
    starter=StarterAccount("OPENROUTER_API_KEY", "credits need a management key; /key works with any"),
    key_patterns=(r"sk-or-v1-[A-Za-z0-9_\-]{8,}",),
)
