"""The token, the loopback rule, CSRF, expiring sessions, rate-limited wrong tokens, 404s by content negotiation,
and a planted key that no page or response may contain."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from creditgauge.clock import FrozenClock
from creditgauge.config import parse_config
from creditgauge.errors import ConfigError
from creditgauge.fakes.deepseek import FakeDeepSeek
from creditgauge.web import create_app
from creditgauge.web.security import SESSION_COOKIE, SESSION_MAX_AGE, check_bind
from creditgauge.web.throttle import FailureBudget

from . import dataset
from .conftest import TOKEN

PAGES = ("/", "/spend", "/usage", "/reconcile", "/ledger", "/alerts", "/sync", "/spend?source=tracked&group=tag:team",
         "/usage?source=tracked&group=key")
API = ("/api/v1/status", "/api/v1/balances", "/api/v1/spend", "/api/v1/usage", "/api/v1/reconcile", "/api/v1/ledger",
       "/api/v1/alerts", "/api/v1/sync/runs", "/api/v1/openapi.json", "/metrics")


def test_every_page_and_api_call_needs_the_token(token_client: TestClient) -> None:
    for path in (*PAGES, *API):
        response = token_client.get(path)
        assert response.status_code == 401, path
    assert "Sign in" in token_client.get("/").text
    assert token_client.get("/api/v1/status").json()["error"].startswith("this dashboard needs its token")
    assert token_client.get("/", headers={"accept": "application/json"}).json()["error"].startswith("this dashboard")
    assert token_client.post("/api/v1/ledger", json={}).status_code == 401
    assert token_client.get("/api/v1/status", headers={"authorization": "Bearer wrong-token-000000000"}).status_code \
        == 401


def test_bearer_token_opens_every_page_and_call(token_client: TestClient) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    for path in (*PAGES, *API):
        assert token_client.get(path, headers=headers).status_code == 200, path


def test_login_form_sets_a_session_cookie_derived_from_the_token(token_client: TestClient) -> None:
    form = token_client.get("/login")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    refused = token_client.post("/login", data={"token": "nope", "csrf_token": csrf}, follow_redirects=False)
    assert refused.status_code == 401
    response = token_client.post("/login", data={"token": TOKEN, "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    cookie = token_client.cookies.get("creditgauge_session")
    assert cookie and TOKEN not in cookie
    assert token_client.get("/").status_code == 200
    assert token_client.get("/api/v1/status").status_code == 200


def test_without_a_token_only_loopback_names_are_answered(store: Engine) -> None:
    app = create_app(dataset.config(), store, scheduler=False)
    for base in ("http://127.0.0.1:8484", "http://localhost:8484", "http://[::1]:8484"):
        with TestClient(app, base_url=base) as client:
            assert client.get("/api/v1/status").status_code == 200, base
    with TestClient(app, base_url="http://rebound.example:8484") as client:  # DNS rebinding
        response = client.get("/api/v1/status")
        assert response.status_code == 403 and "not this machine" in response.json()["error"]


def test_binding_beyond_loopback_requires_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(ConfigError, match="pass --token or set CREDITGAUGE_TOKEN"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ConfigError, match="at least 16"):
        check_bind("0.0.0.0", "short")


def test_state_changes_are_post_only_with_csrf(client: TestClient) -> None:
    assert client.get("/api/v1/sync").status_code == 405
    assert client.get("/ledger/1/remove").status_code == 405
    # A cross-site page posting a form to the API: refused before it reaches a route.
    response = client.post("/api/v1/ledger", data={"account": "groq-dev"})
    assert response.status_code == 415
    response = client.post("/api/v1/ledger", json={"account": "groq-dev", "kind": "deposit", "amount": "1"},
                           headers={"origin": "http://evil.example"})
    assert response.status_code == 403 and "cross-site" in response.json()["error"]
    # A form without the CSRF field, or with a wrong one.
    form = {"account": "groq-dev", "kind": "deposit", "amount": "5.00"}
    assert client.post("/ledger", data=form).status_code == 403
    client.get("/ledger")  # sets the CSRF cookie
    assert client.post("/ledger", data={**form, "csrf_token": "forged"}).status_code == 403
    assert len(client.get("/api/v1/ledger").json()["rows"]) == 1


def test_form_post_with_csrf_adds_and_removes_a_ledger_entry(client: TestClient) -> None:
    page = client.get("/ledger")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    assert csrf == client.cookies.get("creditgauge_csrf")
    response = client.post("/ledger", data={"account": "groq-dev", "kind": "deposit", "amount": "5.00",
                                            "at": "2026-11-02", "csrf_token": csrf}, follow_redirects=True)
    assert response.status_code == 200
    assert "added deposit of 5.00 USD to groq-dev" in response.text
    entry = next(e for e in client.get("/api/v1/ledger").json()["rows"] if e["account"] == "groq-dev")
    response = client.post(f"/ledger/{entry['id']}/remove", data={"csrf_token": csrf}, follow_redirects=True)
    assert f"removed entry {entry['id']}" in response.text
    bad = client.post("/ledger", data={"account": "groq-dev", "kind": "deposit", "amount": "-1", "csrf_token": csrf})
    assert bad.status_code == 400 and "must be a positive amount" in bad.text


def test_security_headers_on_every_response(client: TestClient) -> None:
    response = client.get("/")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "SameSite=Strict" in response.headers["set-cookie"]


@pytest.fixture
def failing_fake() -> Iterator[FakeDeepSeek]:
    with FakeDeepSeek(keys={"sk-the-right-key-000000000000"}) as fake:
        yield fake


def test_planted_key_is_on_no_page_no_response_no_row_no_log(
    store: Engine, failing_fake: FakeDeepSeek, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every account's key is the planted one; a sync runs from the dashboard and the fake refuses the key, so
    errors travel through the store to the pages. The key must appear nowhere."""
    for body in dataset.ACCOUNTS.values():
        monkeypatch.setenv(body["key_env"], dataset.PLANTED_KEY)
    accounts = {name: dict(body) for name, body in dataset.ACCOUNTS.items()}
    accounts["deepseek"]["base_url"] = failing_fake.url
    config = parse_config({"accounts": accounts}, None)
    caplog.set_level(logging.DEBUG)
    app = create_app(config, store, token=TOKEN, scheduler=True)
    headers = {"authorization": f"Bearer {TOKEN}"}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        app.state.scheduler.jobs.clear()  # no scheduled ticks: the sync below is the only one
        report = client.post("/api/v1/sync", json={"accounts": ["deepseek"]}, headers=headers)
        assert report.status_code == 200 and report.json()["status"] == "failed"
        assert any(request.headers.get("Authorization", "").endswith(dataset.PLANTED_KEY)
                   for request in failing_fake.requests), "the fake really received the planted key"
        bodies = [report.text]
        for path in (*PAGES, *API):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, path
            bodies.append(response.text)
        bodies.append(client.get("/api/v1/spend", params={"format": "csv", "by": "day,account"}, headers=headers).text)
    assert "PLANTED" not in "\n".join(bodies)
    assert TOKEN not in "\n".join(bodies)
    assert "PLANTED" not in caplog.text
    with store.connect() as connection:
        for table in ("sync_state", "sync_runs", "balance_snapshots", "usage_events", "ledger_entries"):
            dump = "\n".join(str(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {table}")))
            assert "PLANTED" not in dump, table


def test_serve_command_refuses_a_public_bind_without_a_token() -> None:
    from typer.testing import CliRunner

    from creditgauge.cli import app

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "pass --token or set CREDITGAUGE_TOKEN" in result.output


def _sign_in(client: TestClient, token: str) -> TestClient:
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post("/login", data={"token": token, "csrf_token": csrf}, follow_redirects=False)


def test_the_session_cookie_expires_in_the_browser_and_on_the_server(token_client: TestClient,
                                                                     frozen_clock: FrozenClock) -> None:
    response = _sign_in(token_client, TOKEN)
    assert response.status_code == 303
    assert f"Max-Age={int(SESSION_MAX_AGE.total_seconds())}" in response.headers["set-cookie"]
    assert token_client.get("/api/v1/status").status_code == 200
    frozen_clock.advance(SESSION_MAX_AGE - timedelta(seconds=1))
    assert token_client.get("/api/v1/status").status_code == 200
    frozen_clock.advance(timedelta(seconds=2))  # a browser ignoring Max-Age still sends it: the server refuses
    assert token_client.get("/api/v1/status").status_code == 401
    assert "Sign in" in token_client.get("/").text


def test_a_session_cookie_cannot_be_forged_or_extended(token_client: TestClient) -> None:
    _sign_in(token_client, TOKEN)
    expires, signature = token_client.cookies.get(SESSION_COOKIE).split(".")
    for forged in (f"{int(expires) + 86_400}.{signature}", f"{expires}.{'0' * 64}", signature, "", "x.y"):
        token_client.cookies.clear()
        token_client.cookies.set(SESSION_COOKIE, forged)
        assert token_client.get("/api/v1/status").status_code == 401, forged
    token_client.cookies.clear()
    token_client.cookies.set(SESSION_COOKIE, f"{expires}.{signature}")  # the control: the genuine one passes
    assert token_client.get("/api/v1/status").status_code == 200


def _wrong(client: TestClient, times: int) -> list[int]:
    return [client.get("/api/v1/status", headers={"authorization": "Bearer wrong-token-000000000"}).status_code
            for _ in range(times)]


def test_wrong_tokens_are_rate_limited_per_client_and_right_ones_are_not(
        token_client: TestClient, frozen_clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    right = {"authorization": f"Bearer {TOKEN}"}
    assert all(token_client.get("/api/v1/status", headers=right).status_code == 200 for _ in range(50))
    assert _wrong(token_client, 10) == [401] * 10  # right tokens spent none of the budget
    limited = token_client.get("/api/v1/status", headers={"authorization": "Bearer wrong-token-000000001"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "6"
    assert "too many wrong tokens" in limited.json()["error"]
    # While limited, this client's tokens are not compared at all: the right one is refused too ...
    assert token_client.get("/api/v1/status", headers=right).status_code == 429
    # ... but another client is not affected,
    with TestClient(token_client.app, base_url="http://dashboard.example:8484", client=("192.0.2.7", 5000)) as other:
        assert other.get("/api/v1/status", headers=right).status_code == 200
    # and the budget refills: one more try every 6 seconds.
    frozen_clock.advance(timedelta(seconds=6))
    assert token_client.get("/api/v1/status", headers=right).status_code == 200
    assert _wrong(token_client, 2) == [401, 429]
    assert TOKEN not in caplog.text and "wrong-token" not in caplog.text  # no token, right or wrong, is logged


def test_wrong_sign_ins_are_rate_limited_and_a_signed_in_browser_keeps_working(
        token_client: TestClient, frozen_clock: FrozenClock) -> None:
    with TestClient(token_client.app, base_url="http://dashboard.example:8484") as browser:
        assert _sign_in(browser, TOKEN).status_code == 303
        assert [_sign_in(token_client, "not-the-token-000").status_code for _ in range(11)] == [401] * 10 + [429]
        page = _sign_in(token_client, TOKEN)  # the right token, during the limit: refused like any other
        assert page.status_code == 429 and "Sign in" in page.text and page.headers["retry-after"]
        assert browser.get("/api/v1/status").status_code == 200  # same client address, valid signed session
    frozen_clock.advance(timedelta(minutes=1))
    assert _sign_in(token_client, TOKEN).status_code == 303


def test_the_failure_table_is_bounded() -> None:
    budget = FailureBudget(max_clients=100)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    for n in range(1000):
        budget.failed(f"198.51.100.{n}", now)
    budget.failed("203.0.113.9", now)
    assert len(budget) == 100 and budget.retry_after("203.0.113.9", now) is None


@pytest.mark.parametrize("path, accept, kind", [
    ("/no-such-page", "text/html,application/xhtml+xml,*/*;q=0.8", "text/html"),
    ("/no-such-page", "application/json", "application/json"),
    ("/api/v1/no-such-thing", "text/html", "application/json"),
    ("/api/v1/no-such-thing", "*/*", "application/json"),
])
def test_a_browser_gets_a_404_page_and_the_api_json(client: TestClient, path: str, accept: str, kind: str) -> None:
    response = client.get(path, headers={"accept": accept})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(kind)
    if kind == "application/json":
        assert response.json() == {"error": "Not Found"}
    else:
        assert "Not Found" in response.text and "<html" in response.text.lower()
