"""Fake xAI Management API billing (provider-apis §3): prepaid ledger, invoice preview, invoices, spending limits,
the `/usage` analytics, the management-key validation and the team's API-key list (docs.x.ai management/auth), with
gRPC-gateway error bodies.

The history is generated from a seed with a weekly rhythm: `spend` maps each UTC day to {description: US dollars}
and `changes` is the prepaid ledger in wire shape; tests may revise both between syncs. `api_keys` is the key list
in wire shape (never the keys themselves: only xAI's redacted form); `key_list_allowed = False` answers it with 403
to a valid management key, as for one whose permissions lack it. `rewrite(path, body)` may
alter any successful body before it is sent (contract tests)."""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from creditgauge.fakes.server import BadRequest, FakeProvider, Handler, json_response

DEFAULT_TEAM_ID = "65c1e471-205f-4566-9c5a-07198bcdf4ce"
DEFAULT_MANAGEMENT_KEY = "xai-mgmt-fake-management-key-000000000000"
DEFAULT_INFERENCE_KEY = "xai-fake-inference-key-000000000000000000"
ONE_DAY = timedelta(days=1)
WEEKDAY_PERCENT = (100, 110, 115, 105, 90, 35, 25)  # Monday..Sunday
STREAMS = (  # usage description, daily base in 1e-8 US dollars, chance (in %) of a day with no use at all
    ("Chat grok-4-0709", 420_000_000, 0),
    ("Chat grok-3-mini", 61_000_000, 5),
    ("grok-2-image-1212", 14_000_000, 40),
    ("Live Search", 9_000_000, 30),
)
UTC_ZONES = frozenset({"Etc/GMT", "Etc/UTC", "UTC", "GMT"})
FAILED_TOPUPS = frozenset({"FAILED_TO_CHARGE", "FAILED_TO_GEMNERATE_INVOICE"})
KEY_OWNERS = ("6ad994df-7963-45e0-96c8-96b1ba849d9b", "12106c22-fa54-4255-9887-6eb73c55787f")
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 429: 8}  # INVALID_ARGUMENT, UNAUTHENTICATED, ... per HTTP status



def _cents(dollars: Decimal) -> int:
    return int((dollars * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _next_month(year: int, month: int) -> datetime:
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def _opaque_id(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _invoice_number(text: str) -> str:
    digits = str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[:12]
    return "-".join(digits[i:i + 3] for i in range(0, 12, 3))


class FakeXAI(FakeProvider):
    name = "xai"

    def __init__(self, *, days: int = 60, seed: int = 1, end: date | None = None, team_id: str = DEFAULT_TEAM_ID,
                 management_keys: Iterable[str] = (DEFAULT_MANAGEMENT_KEY,),
                 inference_keys: Iterable[str] = (DEFAULT_INFERENCE_KEY,), max_series: int | None = None,
                 latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.team_id = team_id
        self.management_keys, self.inference_keys = set(management_keys), set(inference_keys)
        self.max_series = max_series  # more groups than this and the analytics answer limitReached: true
        self.end = end or (datetime.now(UTC).date() + ONE_DAY)  # exclusive: today is included, still growing
        self.today = self.end - ONE_DAY
        self.spending_limits: dict[str, dict[str, str]] = {
            "hardSlAuto": {"val": "22500"}, "effectiveHardSl": {"val": "22500"},
            "softSl": {"val": "20000"}, "effectiveSl": {"val": "20000"},
        }
        rng = random.Random(seed)
        self.spend: dict[date, dict[str, Decimal]] = {}
        day = self.end - timedelta(days=days)
        while day < self.end:
            self.spend[day] = self._spend_day(rng, day)
            day += ONE_DAY
        self.changes: list[dict[str, Any]] = []
        self._generate_ledger(rng)
        self.key_list_allowed = True
        self.api_keys = self._generate_key_list(sorted(self.inference_keys))

    # -- generated history ---------------------------------------------------------------------------------------
    @staticmethod
    def _spend_day(rng: random.Random, day: date) -> dict[str, Decimal]:
        spend = {}
        for description, base, idle_percent in STREAMS:
            if rng.randint(0, 99) < idle_percent:
                continue
            spend[description] = Decimal(base * WEEKDAY_PERCENT[day.weekday()] * rng.randint(70, 130) // 10_000)
            spend[description] /= 10**8
        return spend

    def month_lines(self, year: int, month: int) -> dict[str, int]:
        """Cents per usage description for one billing month, as the invoices carry them."""
        lines: dict[str, Decimal] = {}
        for day, spend in self.spend.items():
            if _month(day) == (year, month):
                for description, dollars in spend.items():
                    lines[description] = lines.get(description, Decimal(0)) + dollars
        return {description: _cents(dollars) for description, dollars in sorted(lines.items())}

    def closed_months(self) -> list[tuple[int, int]]:
        return sorted({_month(day) for day in self.spend} - {_month(self.today)})

    def _generate_ledger(self, rng: random.Random) -> None:
        first = min(self.spend, default=self.today)
        posted = sum(sum(self.month_lines(*month).values()) for month in self.closed_months())
        topup = (posted // 10_000 + 1) * 10_000 + rng.randint(1, 9) * 1_000  # enough credit, some left over
        start = datetime(first.year, first.month, first.day, 9, 30, tzinfo=UTC)
        self.add_change("PURCHASE", -topup, when=start)
        self.add_change("PURCHASE", -2_500, status="FAILED_TO_CHARGE", when=start + timedelta(days=2))
        for year, month in self.closed_months():
            self.add_change("SPEND", sum(self.month_lines(year, month).values()), status=None,
                            when=_next_month(year, month) + timedelta(minutes=5), cycle=(year, month))

    def _generate_key_list(self, secrets: list[str]) -> list[dict[str, Any]]:
        """Each inference key this fake accepts, named, then a disabled key, an expired one and one without a name."""
        start = datetime(self.end.year, self.end.month, self.end.day, 8, 15, tzinfo=UTC) - timedelta(days=200)
        keys = [self.listed_key(secret, f"grok-app-{n + 1}" if n else "grok-chat-prod", owner=KEY_OWNERS[n % 2],
                                created=start + timedelta(days=20 * n)) for n, secret in enumerate(secrets)]
        keys.append(self.listed_key("xai-fake-retired-batch-key-0000000000001", "batch-2025", owner=KEY_OWNERS[1],
                                    created=start - timedelta(days=90), disabled=True))
        keys.append(self.listed_key("xai-fake-hackathon-key-000000000000000002", "hackathon", owner=KEY_OWNERS[0],
                                    created=start, expires=start + timedelta(days=3)))
        nameless = self.listed_key("xai-fake-nameless-key-0000000000000000003", "", owner=KEY_OWNERS[0],
                                   created=start + timedelta(days=1))
        del nameless["name"]  # the documented list example has a key without a name
        return [*keys, nameless]

    def listed_key(self, secret: str, name: str, *, owner: str, created: datetime, disabled: bool = False,
                   expires: datetime | None = None) -> dict[str, Any]:
        """A key as the list shows it: the secret only in xAI's redacted form; `disabled` as the string the
        documented example sends."""
        key: dict[str, Any] = {
            "redactedApiKey": f"xai-...{secret[-4:]}", "userId": owner, "name": name, "createTime": _stamp(created),
            "modifyTime": _stamp(created + timedelta(hours=2)), "teamId": self.team_id,
            "apiKeyId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"xai-key:{secret}")), "disabled": str(disabled).lower(),
            "qps": 5, "qpm": 100, "aclStrings": ["api-key:endpoint:*", "api-key:model:*"],
        }
        if expires is not None:
            key["expireTime"] = _stamp(expires)
        return key

    def add_change(self, origin: str, cents: int, *, status: str | None = "SUCCEEDED", when: datetime | None = None,
                   cycle: tuple[int, int] | None = None) -> None:
        """Append a prepaid ledger entry: purchases and refunds negative, spend positive (xAI's convention)."""
        when = when or datetime.now(UTC)
        change: dict[str, Any] = {"teamId": self.team_id, "changeOrigin": origin, "amount": {"val": str(cents)}}
        if origin == "SPEND":
            year, month = cycle or (when.year, when.month)
            change.update(createTime=None, createTs=_stamp(when), spendBpKeyYear=year, spendBpKeyMonth=month)
        else:
            key = f"{origin}:{cents}:{when.isoformat()}"
            change.update(topupStatus=status, invoiceId=_opaque_id(key), invoiceNumber=_invoice_number(key),
                          createTime=_stamp(when), createTs=_stamp(when), paymentProcessor={"kind": "STRIPE"})
        self.changes.append(change)

    def ledger_total(self) -> int:
        """The ledger's `total.val` in cents; failed top-ups are not counted."""
        return sum(int(c["amount"]["val"]) for c in self.changes if c.get("topupStatus") not in FAILED_TOPUPS)

    def usage_total(self, first: date, end: date) -> Decimal:
        """US dollars the analytics report for the days [first, end)."""
        return sum((sum(spend.values(), Decimal(0)) for day, spend in self.spend.items() if first <= day < end),
                   Decimal(0))

    # -- HTTP ----------------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        team = "/v1/billing/teams/{team_id}"
        app.router.add_get(f"{team}/prepaid/balance", self._guarded(self._balance))
        app.router.add_get(f"{team}/postpaid/invoice/preview", self._guarded(self._preview))
        app.router.add_get(f"{team}/postpaid/spending-limits", self._guarded(self._limits))
        app.router.add_get(f"{team}/invoices", self._guarded(self._invoices))
        app.router.add_post(f"{team}/usage", self._guarded(self._usage))
        app.router.add_get("/auth/management-keys/validation", self._guarded(self._validation))
        app.router.add_get("/auth/teams/{team_id}/api-keys", self._guarded(self._key_list))
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return json_response(self.error_body(status, message), status, headers)

    @staticmethod
    def error_body(status: int, message: str) -> dict[str, Any]:
        return {"code": GRPC_CODES.get(status, 2), "message": message, "details": []}

    def rate_limit(self, *, times: int = 1, retry_after: int = 1, path: str = "") -> None:
        """Answer the next `times` matching requests with 429 and a retry-after header."""
        self.fail(429, self.error_body(429, "Too many requests"), times=times, path=path,
                  headers={"retry-after": str(retry_after)})

    def authorize(self, request: web.Request) -> web.Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            return self.error(401, "Missing or malformed Authorization header")
        if key in self.inference_keys:
            return self.error(403, "The API key is not a management key")
        if key not in self.management_keys:
            return self.error(401, "Invalid management key")
        return None

    def _guarded(self, handler: Callable[[web.Request], Awaitable[Any]]) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            team = request.match_info.get("team_id")
            if team is not None and team != self.team_id:
                return self.error(404, f"Team {team} not found")
            try:
                body = await handler(request)
            except BadRequest as problem:
                return self.error(400, str(problem))
            return body if isinstance(body, web.Response) else self.respond(request, body)
        return serve

    async def _not_found(self, request: web.Request) -> web.Response:
        return self.error(404, f"Not found: {request.method} {request.path}")

    async def _validation(self, request: web.Request) -> dict[str, Any]:
        return {"apiKeyId": "c4b5e1f2-9a8d-4e7c-b6a5-3d2c1b0a9f8e", "teamId": self.team_id,
                "scope": "SCOPE_TEAM", "scopeId": self.team_id}

    async def _key_list(self, request: web.Request) -> Any:
        if not self.key_list_allowed:
            return self.error(403, "The management key is not allowed to list API keys")
        try:
            size = int(request.query.get("pageSize", 0)) or len(self.api_keys) or 1  # none: one page
            start = int(base64.urlsafe_b64decode(request.query.get("paginationToken") or "MA==").decode())
        except ValueError:
            raise BadRequest("pageSize and paginationToken must be the ones this API gave") from None
        page = self.api_keys[start:start + size]
        body: dict[str, Any] = {"apiKeys": page} if page else {}  # proto3 JSON leaves an empty list out
        if start + size < len(self.api_keys):
            body["paginationToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return body

    async def _balance(self, request: web.Request) -> dict[str, Any]:
        return {"changes": self.changes, "total": {"val": str(self.ledger_total())}}

    def _lines(self, year: int, month: int) -> list[dict[str, str]]:
        return [{"clusterName": "us-east-1", "description": description, "unitType": "Usage",
                 "unitPrice": "1000000", "numUnits": str(cents), "amount": str(cents)}
                for description, cents in self.month_lines(year, month).items()]

    async def _preview(self, request: web.Request) -> dict[str, Any]:
        year, month = _month(self.today)
        spent = sum(self.month_lines(year, month).values())
        credit = max(-self.ledger_total(), 0)
        return {
            "coreInvoice": {
                "lines": self._lines(year, month), "amountBeforeVat": str(spent), "vatCost": "0",
                "amountAfterVat": str(spent), "autoCreditsIssued": "0", "defaultCreditsIssued": "0",
                "totalWithCorr": {"val": str(spent)}, "prepaidCredits": {"val": str(-credit)},
                "prepaidCreditsUsed": {"val": str(-min(spent, credit))},
            },
            "effectiveSpendingLimit": self.spending_limits.get("effectiveSl", {"val": "0"})["val"],
            "defaultCredits": "0",
            "billingCycle": {"year": year, "month": month},
        }

    async def _limits(self, request: web.Request) -> dict[str, Any]:
        return {"spendingLimits": self.spending_limits}

    def _all_invoices(self) -> list[tuple[tuple[int, int], dict[str, Any]]]:
        invoices = []
        for year, month in self.closed_months():
            lines = self._lines(year, month)
            total = str(sum(int(line["amount"]) for line in lines))
            issued = _next_month(year, month)
            key = f"monthly:{year}-{month}"
            invoices.append(((year, month), {
                "teamId": self.team_id, "invoiceId": _opaque_id(key), "invoiceNumber": _invoice_number(key),
                "createTime": _stamp(issued + timedelta(hours=21)), "invoiceStatus": "PAID",
                "firstDesiredNextCycleTs": _stamp(issued + timedelta(days=10)),
                "chargerAttempts": [{"ticket": 0, "successful": True, "paymentMethodId": "pm_1Q2w3E4r5T6y7U8i9O0p"}],
                "lines": lines, "subtotal": total, "tax": "0", "total": total,
                "invoicePdfAssetKeySuffix": f"teams/{self.team_id}/billing/{year}-{month}-{_opaque_id(key)}.pdf",
                "monthly": {"billingCycle": {"year": year, "month": month},
                            "defaultCreditsIssued": {"val": "0"}, "autoCreditsIssued": {"val": "0"},
                            "prepaidTokensToSpend": {"val": "0"}},
            }))
        for change in self.changes:
            if change["changeOrigin"] in ("PURCHASE", "AUTO_PURCHASE"):
                cents, created = str(-int(change["amount"]["val"])), change["createTime"]
                status = "FAILED" if change.get("topupStatus") in FAILED_TOPUPS else "PAID"
                invoices.append(((int(created[:4]), int(created[5:7])), {
                    "teamId": self.team_id, "invoiceId": change["invoiceId"],
                    "invoiceNumber": change["invoiceNumber"], "createTime": created, "invoiceStatus": status,
                    "lines": [{"description": "Prepaid credits", "amount": cents}],
                    "subtotal": cents, "tax": "0", "total": cents, "prepaid": {},
                }))
        return invoices

    async def _invoices(self, request: web.Request) -> dict[str, Any]:
        query = request.query
        try:
            since = (int(query.get("since.year", 0)), int(query.get("since.month", 0)))
            cycle = (int(query.get("billingCycle.year", 0)), int(query.get("billingCycle.month", 0)))
        except ValueError:
            raise BadRequest("since and billingCycle take integer year and month") from None
        return {"invoices": [invoice for month, invoice in self._all_invoices()
                             if month >= since and cycle in ((0, 0), month)]}

    async def _usage(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("the request body is not JSON") from None
        first, end, group_by = self._analytics_request(body)
        days = [first + timedelta(days=n) for n in range((end - first).days)]
        groups: list[str | None] = [None]  # ungrouped: one series of the day totals
        if group_by:
            groups = [*sorted({description for day in days for description in self.spend.get(day, {})})]
        limited = self.max_series is not None and len(groups) > self.max_series
        series = []
        for group in groups[: self.max_series] if limited else groups:
            points = []
            for day in days:
                spend = self.spend.get(day, {})
                value = spend.get(group, Decimal(0)) if group else sum(spend.values(), Decimal(0))
                points.append({"timestamp": f"{day.isoformat()}T00:00:00Z", "values": [value]})
            labels = [group] if group else []
            series.append({"group": labels, "groupLabels": labels, "dataPoints": points})
        return {"timeSeries": series, "limitReached": limited}

    @staticmethod
    def _analytics_request(body: Any) -> tuple[date, date, list[str]]:
        try:
            request = body["analyticsRequest"]
            span = request["timeRange"]
            first = datetime.strptime(span["startTime"], "%Y-%m-%d %H:%M:%S")
            end = datetime.strptime(span["endTime"], "%Y-%m-%d %H:%M:%S")
            zone, unit, values = span["timezone"], request["timeUnit"], request["values"]
        except (KeyError, TypeError, ValueError) as problem:
            raise BadRequest(f"invalid analyticsRequest: {problem}") from None
        if zone not in UTC_ZONES:
            raise BadRequest(f"timezone {zone!r}: this fake aggregates UTC days only")
        if unit != "TIME_UNIT_DAY" or first.time() != datetime.min.time() or end.time() != datetime.min.time():
            raise BadRequest("this fake serves TIME_UNIT_DAY over whole days only")
        if values != [{"name": "usd", "aggregation": "AGGREGATION_SUM"}]:
            raise BadRequest("values: this fake sums usd only")
        group_by = request.get("groupBy", [])
        if not set(group_by) <= {"description"}:
            raise BadRequest(f"groupBy {group_by!r}: this fake groups by description only")
        return first.date(), end.date(), group_by
