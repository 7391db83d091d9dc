"""The dashboard's pages: server-rendered tables (they work without JavaScript), charts drawn in the browser from
the same JSON API. Forms POST with a CSRF field and redirect back (post/redirect/get)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from creditgauge.errors import ConfigError
from creditgauge.service.alerts import channel_names, send_test
from creditgauge.service.drilldown import narrow_spend, report_by, spend_shares, usage_shares
from creditgauge.service.keys import key_label, key_ref
from creditgauge.service.reports import SPEND_SOURCES, USAGE_SOURCES, spend_columns, usage_columns
from creditgauge.web import answers
from creditgauge.web.api_keys import keys_for
from creditgauge.web.api_reports import spend_for, usage_for
from creditgauge.web.context import WebContext, web_context
from creditgauge.web.controls import page_controls
from creditgauge.web.responses import csv_response
from creditgauge.web.security import SESSION_COOKIE, SESSION_MAX_AGE, session_value, verify_csrf
from creditgauge.web.templating import render

router = APIRouter(include_in_schema=False)
Ctx = Annotated[WebContext, Depends(web_context)]
Csrf = Depends(verify_csrf)

_background: set[asyncio.Task[Any]] = set()  # running "sync now" tasks, kept referenced until they finish


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, message=message)


@router.get("/")
def overview(request: Request, ctx: Ctx) -> Response:
    report = answers.status_report(ctx)
    return render(request, "overview.html", title="Overview", report=report,
                  totals=answers.totals_per_currency(report["rows"]))


@router.get("/spend")
def spend(request: Request, ctx: Ctx) -> Response:
    controls = page_controls(request, ctx, SPEND_SOURCES)
    report = narrow_spend(spend_for(ctx, controls.since, controls.until, report_by(controls.group, controls.narrowed),
                                    controls.source, None), controls.narrowed)
    if request.query_params.get("format") == "csv":  # exactly the table's rows
        return csv_response(report["rows"], spend_columns(report), f"spend-{controls.source}.csv")
    return render(request, "spend.html", title="Spend", report=report, controls=controls,
                  shares=spend_shares(report["rows"]), chart_query=controls.chart_query())


@router.get("/usage")
def usage(request: Request, ctx: Ctx) -> Response:
    controls = page_controls(request, ctx, USAGE_SOURCES, narrowable=False)
    report = usage_for(ctx, controls.since, controls.until, controls.group, controls.source, None)
    if request.query_params.get("format") == "csv":
        return csv_response(report["rows"], usage_columns(report), f"usage-{controls.source}.csv")
    return render(request, "usage.html", title="Usage", report=report, controls=controls,
                  shares=usage_shares(report["rows"]), chart_query=controls.chart_query())


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
    overview = answers.alerts_overview(ctx)  # its checks are the rules evaluated now, once
    return render(request, "alerts.html", title="Alerts", alerts=overview, checks=overview["checks"],
                  channels=channel_names(ctx), message=request.query_params.get("message"))


@router.post("/alerts/test", dependencies=[Csrf])
async def alerts_test(ctx: Ctx, channel: str = Form(...)) -> Response:
    try:
        delivery = await send_test(ctx.config, channel, now=ctx.now())
    except ConfigError as exc:
        message = f"error: {exc}"
    else:
        message = f"sent a test message through {channel!r}" if delivery.ok else f"error: {delivery.error}"
    return RedirectResponse("/alerts?" + urlencode({"message": message}), status_code=303)


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
