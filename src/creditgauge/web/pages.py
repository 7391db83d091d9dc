"""The dashboard's pages: server-rendered tables (they work without JavaScript), charts drawn in the browser from
the same JSON API. Forms POST with a CSRF field and redirect back (post/redirect/get)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from creditgauge.reports import SPEND_SOURCES, USAGE_SOURCES, Source, parse_source
from creditgauge.service.keys import key_label, key_ref
from creditgauge.store.queries import tag_keys
from creditgauge.web import answers
from creditgauge.web.api_keys import keys_for
from creditgauge.web.api_reports import report_window, spend_for, usage_for
from creditgauge.web.context import WebContext, web_context
from creditgauge.web.security import SESSION_COOKIE, SESSION_MAX_AGE, session_value, verify_csrf
from creditgauge.web.templating import render

router = APIRouter(include_in_schema=False)
Ctx = Annotated[WebContext, Depends(web_context)]
Csrf = Depends(verify_csrf)

GROUPS: dict[Source, tuple[str, ...]] = {
    "best": ("account", "provider", "model", "project", "api_key", "workspace", "line_item"),
    "reported": ("account", "provider", "model", "project", "api_key", "workspace", "line_item"),
    "tracked": ("account", "provider", "model", "project", "key", "endpoint"),
}
_background: set[asyncio.Task[Any]] = set()  # running "sync now" tasks, kept referenced until they finish


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, message=message)


def _controls(request: Request, ctx: WebContext, sources: Sequence[Source]) -> dict[str, Any]:
    """The report controls from the query string, with the defaults the API uses (the first of `sources`)."""
    params = request.query_params
    source = parse_source(params.get("source", sources[0]), sources, option="source")
    groups = list(GROUPS[source])
    if source == "tracked":
        groups += [f"tag:{key}" for key in tag_keys(ctx.engine)]
    group = params.get("group", "account")
    if group not in groups:
        group = "account"
    since, until = report_window(ctx, params.get("since") or None, params.get("until") or None)
    return {"since": since.isoformat(), "until": until.isoformat() if until else "",  # "30d" -> a date the picker shows
            "group": group, "groups": groups, "source": source, "sources": sources}


def _query(controls: dict[str, Any], by: str, **extra: str) -> str:
    values = {"since": controls["since"], "until": controls["until"], "source": controls["source"], "by": by, **extra}
    return urlencode({k: v for k, v in values.items() if v})


@router.get("/")
def overview(request: Request, ctx: Ctx) -> Response:
    report = answers.status_report(ctx)
    return render(request, "overview.html", title="Overview", report=report,
                  totals=answers.totals_per_currency(report["rows"]))


@router.get("/spend")
def spend(request: Request, ctx: Ctx) -> Response:
    controls = _controls(request, ctx, SPEND_SOURCES)
    report = spend_for(ctx, controls["since"], controls["until"] or None, controls["group"], controls["source"], None)
    return render(request, "spend.html", title="Spend", report=report, controls=controls,
                  chart_query=_query(controls, f"day,{controls['group']}"),
                  csv_query=_query(controls, f"day,{controls['group']}", format="csv"))


@router.get("/usage")
def usage(request: Request, ctx: Ctx) -> Response:
    controls = _controls(request, ctx, USAGE_SOURCES)
    report = usage_for(ctx, controls["since"], controls["until"] or None, controls["group"], controls["source"], None)
    return render(request, "usage.html", title="Usage", report=report, controls=controls,
                  chart_query=_query(controls, "day"),
                  csv_query=_query(controls, f"day,{controls['group']}", format="csv"))


@router.get("/reconcile")
def reconcile(request: Request, ctx: Ctx) -> Response:
    since = request.query_params.get("since") or None
    until = request.query_params.get("until") or None
    report = answers.reconcile_report(ctx, since, until)
    return render(request, "reconcile.html", title="Reconcile", report=report,
                  chart_query=urlencode({k: v for k, v in (("since", since), ("until", until)) if v}))


@router.get("/keys")
def keys(request: Request, ctx: Ctx) -> Response:
    params = request.query_params
    report = keys_for(ctx, params.get("since") or None, params.get("until") or None, None, None,
                      params.get("key") or None)
    return render(request, "keys.html", title="Keys", report=report, key_label=key_label, key_ref=key_ref)


@router.get("/ledger")
def ledger(request: Request, ctx: Ctx) -> Response:
    return render(request, "ledger.html", title="Ledger", ledger=answers.ledger_list(ctx),
                  balances=answers.balance_report(ctx), accounts=sorted(ctx.config.accounts),
                  message=request.query_params.get("message"))


@router.post("/ledger", dependencies=[Csrf])
def ledger_add(ctx: Ctx, account: str = Form(...), kind: str = Form(...), amount: str = Form(...),
               currency: str = Form(""), at: str = Form(""), expires: str = Form(""), note: str = Form("")) -> Response:
    entry = answers.ledger_add(ctx, account=account, kind=kind, amount=amount, currency=currency or None,
                               at=at or None, expires=expires or None, note=note or None)
    message = f"added {entry['kind']} of {entry['amount']} {entry['currency']} to {entry['account']}"
    return RedirectResponse("/ledger?" + urlencode({"message": message}), status_code=303)


@router.post("/ledger/{entry_id}/remove", dependencies=[Csrf])
def ledger_remove(ctx: Ctx, entry_id: int) -> Response:
    answers.ledger_remove(ctx, entry_id)
    return RedirectResponse("/ledger?" + urlencode({"message": f"removed entry {entry_id}"}), status_code=303)


@router.get("/alerts")
def alerts(request: Request, ctx: Ctx) -> Response:
    return render(request, "alerts.html", title="Alerts", alerts=answers.alerts_overview(ctx))


@router.get("/sync")
def sync(request: Request, ctx: Ctx) -> Response:
    return render(request, "sync.html", title="Sync", sync=answers.sync_overview(ctx),
                  read_only=request.app.state.scheduler is None, message=request.query_params.get("message"))


@router.post("/sync", dependencies=[Csrf])
async def sync_now(request: Request) -> Response:
    scheduler = request.app.state.scheduler
    if scheduler is None:
        return error_page(request, 409, "this server is read-only (serve --no-sync): run `creditgauge sync`")
    task = asyncio.create_task(scheduler.sync(None, trigger="manual"))
    _background.add(task)
    task.add_done_callback(_background.discard)
    return RedirectResponse("/sync?" + urlencode({"message": "sync started"}), status_code=303)


@router.get("/login")
def login_form(request: Request) -> Response:
    return render(request, "login.html", title="Sign in", message=None)


@router.post("/login", dependencies=[Csrf])
def login(request: Request, token: str = Form(...)) -> Response:
    expected = request.app.state.token
    if expected is None:
        return RedirectResponse("/", status_code=303)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return render(request, "login.html", status_code=401, title="Sign in", message="that token is not right")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, session_value(expected), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(SESSION_MAX_AGE.total_seconds()))
    return response


@router.post("/logout", dependencies=[Csrf])
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
