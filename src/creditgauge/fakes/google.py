"""Fake Google Cloud for the Gemini connector (provider-apis §5.2, §5.3), all on one port:

- `POST /token`: the OAuth token endpoint. It verifies the service-account JWT (RS256, issuer, audience, expiry)
  against the public keys of accounts made with `write_service_account` and issues opaque access tokens.
- `GET /v3/projects/{project}/timeSeries`: Cloud Monitoring with the connector's two filters (request_count and
  quota/rate/net_usage of generativelanguage.googleapis.com), one point per UTC day, newest first, int64 values as
  strings, `nextPageToken` pagination over series.
- `POST /bigquery/v2/projects/{project}/queries` and `GET .../queries/{job}`: BigQuery jobs.query and
  getQueryResults. The fake holds billing-export rows (the documented row shape) and answers the one query
  creditgauge sends (daily cost and credits per SKU for @service in [@start, @end)) in the REST f/v shape, in
  `pageToken` pages of `rows_per_page`. With `pending_polls = n` the job is still running: jobs.query and the
  next n getQueryResults calls answer `jobComplete: false`.

Errors are google.rpc.Status bodies ({"error": {code, message, status}}; BigQuery adds `errors[]`)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from creditgauge.fakes.server import FakeProvider, json_response

PROJECT = "acme-prod-123456"
SERVICE = "generativelanguage.googleapis.com"
REQUEST_COUNT = "serviceruntime.googleapis.com/api/request_count"
NET_USAGE = "serviceruntime.googleapis.com/quota/rate/net_usage"
INPUT_TOKENS = "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count"
METHOD = "google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent"
CREDENTIAL = "apikey:2b8d3f1e-9c7a-4e55-8a10-6d4c2e1f0b9a"
BILLING_TABLE = f"{PROJECT}.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
MONITORING_SCOPES = {"https://www.googleapis.com/auth/monitoring.read", "https://www.googleapis.com/auth/monitoring",
                     "https://www.googleapis.com/auth/cloud-platform"}
BIGQUERY_SCOPES = {"https://www.googleapis.com/auth/bigquery.readonly", "https://www.googleapis.com/auth/bigquery",
                   "https://www.googleapis.com/auth/cloud-platform"}
# google-auth signs service-account assertions for Google's token endpoint whatever the key file's token_uri says.
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
GRPC_STATUS = {"200": "0", "400": "3", "403": "7", "429": "8", "500": "13", "503": "14"}
NANO = Decimal("1e-9")
COST_FIELDS = [{"name": "day", "type": "DATE", "mode": "NULLABLE"},
               {"name": "sku", "type": "STRING", "mode": "NULLABLE"},
               {"name": "currency", "type": "STRING", "mode": "NULLABLE"},
               {"name": "cost", "type": "NUMERIC", "mode": "NULLABLE"},
               {"name": "credits", "type": "NUMERIC", "mode": "NULLABLE"}]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _numeric(value: Decimal) -> str:
    """BigQuery's REST text of a NUMERIC: plain digits, no exponent, no trailing zeros."""
    return f"{value.normalize():f}" if value else "0"


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def billing_row(start: datetime, sku: str, cost: str, *, credits: str = "0", currency: str = "USD",
                service: str = "Gemini API", project: str = PROJECT) -> dict[str, Any]:
    """One billing-export row for an hour of usage, in the documented shape (examples/gcp_billing_export_rows.json).
    Amounts are Decimals so the JSON numbers are exact; `credits` (negative) becomes one PROMOTION credit."""
    credit_list = [] if Decimal(credits) == 0 else [{
        "name": "FreeTrial:20a7c2b4-1c7e-4a0e-8e6f-3b2d1c0a9e8f", "amount": Decimal(credits),
        "full_name": "Free trial credit", "id": "20a7c2b4-1c7e-4a0e-8e6f-3b2d1c0a9e8f", "type": "PROMOTION",
    }]
    return {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service": {"id": "AEFD-7695-64FA", "description": service},
        "sku": {"id": f"{zlib.crc32(sku.encode()) % 0xFFFF:04X}-1E3D-A8F4", "description": sku},
        "usage_start_time": _rfc3339(start),
        "usage_end_time": _rfc3339(start + timedelta(hours=1)),
        "project": {"id": project, "number": "123456789012", "name": project.rsplit("-", 1)[0], "labels": [],
                    "ancestry_numbers": "/987654321098/123456789012/"},
        "labels": [],
        "system_labels": [],
        "location": {"location": "global", "country": None, "region": None, "zone": None},
        "export_time": _rfc3339(start + timedelta(hours=5)),
        "cost": Decimal(cost),
        "currency": currency,
        "currency_conversion_rate": Decimal("1.0"),
        "usage": {"amount": Decimal("2950117.0"), "unit": "count", "amount_in_pricing_units": Decimal("2.950117"),
                  "pricing_unit": "count * 1e6"},
        "credits": credit_list,
        "invoice": {"month": start.strftime("%Y%m")},
        "cost_type": "regular",
        "adjustment_info": None,
        "cost_at_list": Decimal(cost),
        "transaction_type": "GOOGLE",
        "seller_name": "Google",
        "tags": [],
    }


def _default_billing_rows() -> list[dict[str, Any]]:
    first = datetime(2026, 8, 1, 7, tzinfo=UTC)
    return [
        billing_row(first, "Gemini 2.5 Flash Input Text Tokens", "0.885035", credits="-0.885035"),
        billing_row(first, "Gemini 2.5 Flash Output Text Tokens", "1.23456789"),
        billing_row(first + timedelta(hours=1), "Gemini 2.5 Flash Output Text Tokens", "0.1", credits="-0.05"),
        billing_row(first + timedelta(days=1), "Gemini 2.5 Flash Input Text Tokens", "0.552901"),
        billing_row(first, "Compute Engine Core", "9.99", service="Compute Engine"),
    ]


class FakeGoogle(FakeProvider):
    name = "google"

    def __init__(self, *, projects: tuple[str, ...] = (PROJECT,), billing_table: str = BILLING_TABLE,
                 series_per_page: int = 100, rows_per_page: int = 1000, pending_polls: int = 0,
                 **options: Any) -> None:
        super().__init__(**options)
        self.projects = set(projects)
        self.billing_table = billing_table
        self.series_per_page = series_per_page
        self.rows_per_page = rows_per_page
        self.pending_polls = pending_polls  # getQueryResults calls answered with jobComplete false, per job
        # (day, quota_metric) -> tokens and (day, response code) -> requests, as in the documented example.
        self.token_usage: dict[tuple[date, str], int] = {
            (date(2026, 8, 2), INPUT_TOKENS): 1843002, (date(2026, 8, 1), INPUT_TOKENS): 2950117}
        self.request_counts: dict[tuple[date, str], int] = {(date(2026, 8, 2), "200"): 412,
                                                            (date(2026, 8, 1), "200"): 655}
        self.billing_rows: list[dict[str, Any]] = _default_billing_rows()
        self.service_accounts: dict[str, rsa.RSAPublicKey] = {}
        self.access_tokens: dict[str, set[str]] = {}  # token -> granted scopes
        self.jobs: dict[str, dict[str, Any]] = {}
        # Fields a newer API version might add: merged into every Monitoring and BigQuery response (and time series).
        self.extra_fields: dict[str, Any] = {}

    # -- service accounts and tokens -----------------------------------------------------------------------------
    def write_service_account(self, path: Path, *, email: str = f"creditgauge-reader@{PROJECT}.iam.gserviceaccount.com",
                              known: bool = True) -> Path:
        """Write a service-account key file whose token_uri is this fake. `known=False` makes a key the fake's
        token endpoint refuses (as Google refuses a deleted key)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if known:
            self.service_accounts[email] = key.public_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        path.write_text(json.dumps({
            "type": "service_account", "project_id": PROJECT, "private_key_id": secrets.token_hex(20),
            "private_key": pem, "client_email": email, "client_id": str(secrets.randbelow(10**21)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": f"{self.url}/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com",
        }, indent=2))
        return path

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return json_response({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400)
        refusal, scopes = self._verify(str(form.get("assertion", "")))
        if refusal:
            return json_response({"error": "invalid_grant", "error_description": refusal}, 400)
        token = f"ya29.fake-{secrets.token_urlsafe(32)}"
        self.access_tokens[token] = scopes
        return json_response({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _verify(self, assertion: str) -> tuple[str | None, set[str]]:
        """(refusal, scopes): Google's error descriptions for a bad JWT bearer assertion."""
        try:
            header, payload, signature = assertion.split(".")
            claims = json.loads(_unb64url(payload))
        except ValueError:
            return "Invalid JWT: malformed assertion", set()
        public_key = self.service_accounts.get(claims.get("iss"))
        if public_key is None:
            return "Invalid grant: account not found", set()
        try:
            public_key.verify(_unb64url(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(),
                              hashes.SHA256())
        except InvalidSignature:
            return "Invalid JWT Signature.", set()
        if claims.get("aud") not in (TOKEN_AUDIENCE, f"{self.url}/token") or not claims.get("exp", 0) > time.time():
            return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.", set()
        return None, set(str(claims.get("scope", "")).split())

    # -- auth and errors -----------------------------------------------------------------------------------------
    @staticmethod
    def error(code: int, status: str, message: str, reason: str | None = None) -> web.Response:
        body: dict[str, Any] = {"code": code, "message": message}
        if reason:  # BigQuery's v2 API also lists errors[] with a reason
            body["errors"] = [{"message": message, "domain": "global", "reason": reason}]
        body["status"] = status
        return json_response({"error": body}, status=code)

    def authorize(self, request: web.Request) -> web.Response | None:
        if request.path == "/token":
            return None
        bigquery = request.path.startswith("/bigquery/")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token not in self.access_tokens:
            return self.error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected "
                              "OAuth 2 access token, login cookie or other valid authentication credential. See "
                              "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                              "authError" if bigquery else None)
        if not self.access_tokens[token] & (BIGQUERY_SCOPES if bigquery else MONITORING_SCOPES):
            return self.error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.",
                              "insufficientPermissions" if bigquery else None)
        project = request.match_info.get("project", "")
        if project not in self.projects:
            if bigquery:
                message = (f"Access Denied: Project {project}: User does not have bigquery.jobs.create permission "
                           f"in project {project}.")
                return self.error(403, "PERMISSION_DENIED", message, "accessDenied")
            return self.error(403, "PERMISSION_DENIED",
                              "Permission monitoring.timeSeries.list denied (or the resource may not exist).")
        return None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/token", self._token)
        app.router.add_get("/v3/projects/{project}/timeSeries", self._time_series)
        app.router.add_post("/bigquery/v2/projects/{project}/queries", self._query)
        app.router.add_get("/bigquery/v2/projects/{project}/queries/{job}", self._query_results)

    # -- Cloud Monitoring ----------------------------------------------------------------------------------------
    async def _time_series(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            start = datetime.fromisoformat(query["interval.startTime"])
            end = datetime.fromisoformat(query["interval.endTime"])
            conditions = dict(re.findall(r'([\w.]+)\s*=\s*"([^"]*)"', query["filter"]))
        except (KeyError, ValueError):
            return self.error(400, "INVALID_ARGUMENT", "Field filter and interval.endTime are required; "
                              "interval times must be RFC 3339.")
        if conditions.get("resource.labels.service") != SERVICE:
            return json_response({"unit": "1"})
        project = request.match_info["project"]
        if conditions.get("metric.type") == REQUEST_COUNT:
            series = self._series(self.request_counts, start, end, lambda code: self._describe_requests(project, code))
        elif conditions.get("metric.type") == NET_USAGE:
            series = self._series(self.token_usage, start, end, lambda metric: self._describe_tokens(project, metric))
        else:
            series = []
        offset = int(_unb64url(query["pageToken"]).decode()) if query.get("pageToken") else 0
        page = series[offset: offset + self.series_per_page]
        body: dict[str, Any] = {"timeSeries": [{**item, **self.extra_fields} for item in page]} if page else {}
        if offset + self.series_per_page < len(series):
            body["nextPageToken"] = _b64url(str(offset + self.series_per_page).encode())
        body["unit"] = "1"
        return json_response({**body, **self.extra_fields})

    @staticmethod
    def _series(counts: dict[tuple[date, str], int], start: datetime, end: datetime,
                describe: Callable[[str], dict[str, Any]]) -> list[dict[str, Any]]:
        """One DELTA INT64 series per label value, one point per whole UTC day inside [start, end), newest first."""
        by_label: dict[str, dict[date, int]] = defaultdict(dict)
        for (day, label), count in counts.items():
            by_label[label][day] = count
        series = []
        for label, per_day in sorted(by_label.items()):
            days = [day for day in sorted(per_day, reverse=True)
                    if start <= datetime(day.year, day.month, day.day, tzinfo=UTC) <= end - timedelta(days=1)]
            points = [{"interval": {"startTime": f"{day.isoformat()}T00:00:00Z",
                                    "endTime": f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z"},
                       "value": {"int64Value": str(per_day[day])}} for day in days]
            if points:
                series.append({**describe(label), "metricKind": "DELTA", "valueType": "INT64", "points": points})
        return series

    @staticmethod
    def _describe_tokens(project: str, quota_metric: str) -> dict[str, Any]:
        return {"metric": {"type": NET_USAGE, "labels": {"quota_metric": quota_metric, "method": METHOD}},
                "resource": {"type": "consumer_quota",
                             "labels": {"project_id": project, "service": SERVICE, "location": "global"}}}

    @staticmethod
    def _describe_requests(project: str, code: str) -> dict[str, Any]:
        return {"metric": {"type": REQUEST_COUNT, "labels": {
                    "protocol": "http", "response_code": code, "response_code_class": f"{code[0]}xx",
                    "grpc_status_code": GRPC_STATUS.get(code, "2")}},
                "resource": {"type": "consumed_api", "labels": {
                    "project_id": project, "service": SERVICE, "method": METHOD, "version": "v1beta",
                    "location": "global", "credential_id": CREDENTIAL}}}

    # -- BigQuery ------------------------------------------------------------------------------------------------
    async def _query(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
            sql = str(body["query"])
            parameters = {p["name"]: p["parameterValue"]["value"] for p in body.get("queryParameters", [])}
        except (ValueError, KeyError, TypeError):
            return self.error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "invalid")
        table = re.search(r"FROM\s+`([^`]+)`", sql)
        if body.get("useLegacySql", True) or table is None or "GROUP BY day, sku, currency" not in sql:
            return self.error(400, "INVALID_ARGUMENT", "Syntax error: this fake answers only creditgauge's "
                              "billing query (standard SQL, grouped by day, sku, currency)", "invalidQuery")
        if table.group(1) != self.billing_table:
            return self.error(404, "NOT_FOUND", f"Not found: Table {table.group(1).replace('.', ':', 1)} was not "
                              "found in location US", "notFound")
        if not {"service", "start", "end"} <= set(parameters):
            return self.error(400, "INVALID_ARGUMENT", "Query parameter 'service' not found", "invalidQuery")
        rows = self._cost_rows(parameters["service"], datetime.fromisoformat(parameters["start"]),
                               datetime.fromisoformat(parameters["end"]))
        project = request.match_info["project"]
        job: dict[str, Any] = {"id": f"job_{secrets.token_urlsafe(18)}", "project": project, "rows": rows,
               "polls_left": self.pending_polls}
        self.jobs[job["id"]] = job
        max_results = int(body.get("maxResults") or self.rows_per_page)
        return json_response(self._results(job, "bigquery#queryResponse", 0, max_results, first=True))

    async def _query_results(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["job"])
        if job is None or job["project"] != request.match_info["project"]:
            return self.error(404, "NOT_FOUND", f"Not found: Job {request.match_info['project']}:US."
                              f"{request.match_info['job']}", "notFound")
        token = request.query.get("pageToken")
        offset = int(_unb64url(token).decode()) if token else int(request.query.get("startIndex", 0))
        max_results = int(request.query.get("maxResults") or self.rows_per_page)
        return json_response(self._results(job, "bigquery#getQueryResultsResponse", offset, max_results))

    def _results(self, job: dict[str, Any], kind: str, offset: int, max_results: int, *, first: bool = False
                 ) -> dict[str, Any]:
        reference = {"projectId": job["project"], "jobId": job["id"], "location": "US"}
        if job["polls_left"] > 0:
            if not first:
                job["polls_left"] -= 1
            return {"kind": kind, "jobReference": reference, "jobComplete": False}
        page_size = min(max_results, self.rows_per_page)
        rows = job["rows"][offset: offset + page_size]
        body: dict[str, Any] = {"kind": kind}
        if kind == "bigquery#getQueryResultsResponse":
            body["etag"] = _b64url(secrets.token_bytes(12))
        body.update({"schema": {"fields": COST_FIELDS}, "jobReference": reference,
                     "totalRows": str(len(job["rows"]))})
        if offset + page_size < len(job["rows"]):
            body["pageToken"] = _b64url(str(offset + page_size).encode())
        if rows:
            body["rows"] = rows
        body.update({"totalBytesProcessed": str(4096 * len(self.billing_rows)), "jobComplete": True,
                     "cacheHit": False, **self.extra_fields})
        return body

    def _cost_rows(self, service: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """What the billing query computes: per UTC day, SKU and currency, SUM(CAST(cost AS NUMERIC)) and the sum
        of the credits (each FLOAT64 cast to NUMERIC, i.e. rounded to 9 decimal places)."""
        sums: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for row in self.billing_rows:
            used = datetime.fromisoformat(row["usage_start_time"])
            if row["service"]["description"] != service or not start <= used < end:
                continue
            key = (used.astimezone(UTC).date().isoformat(), row["sku"]["description"], row["currency"])
            sums[key][0] += Decimal(row["cost"]).quantize(NANO, ROUND_HALF_UP)
            sums[key][1] += sum((Decimal(c["amount"]).quantize(NANO, ROUND_HALF_UP) for c in row["credits"]),
                                Decimal(0))
        return [{"f": [{"v": day}, {"v": sku}, {"v": currency}, {"v": _numeric(cost)}, {"v": _numeric(credits)}]}
                for (day, sku, currency), (cost, credits) in sorted(sums.items())]
