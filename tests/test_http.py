import asyncio
import logging
from decimal import Decimal

import pytest
from aiohttp import web

from creditgauge.errors import AuthError, ContractError, ProviderError, RateLimited
from creditgauge.fakes.server import FakeProvider, json_response
from creditgauge.http import ApiClient, RetryPolicy, paginate

KEY = "sk-admin-PLANTEDsecretKEY1234567890"


class Echo(FakeProvider):
    def routes(self, app: web.Application) -> None:
        async def money(request: web.Request) -> web.Response:
            return json_response({"value": Decimal("0.8958740000000000"), "query": list(request.query.items())})

        async def page(request: web.Request) -> web.Response:
            cursor = request.query.get("page")
            # the provider hands out the same cursor again after the second page: a loop we must not follow
            next_page = {None: "c1", "c1": "c2", "c2": "c1"}[cursor]
            return json_response({"data": [cursor], "next_page": next_page})

        app.router.add_get("/money", money)
        app.router.add_get("/pages", page)


async def _no_sleep(_seconds: float) -> None:
    return None


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def fake():
    with Echo() as server:
        yield server


def client(fake: Echo, **kw) -> ApiClient:
    sleeps: list[float] = kw.pop("sleeps", [])

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    return ApiClient(
        "testprov",
        fake.url,
        headers={"authorization": f"Bearer {KEY}"},
        secrets=[KEY],
        retry=kw.pop("retry", RetryPolicy(max_retries=3, base_delay=0.01)),
        sleep=record,
        **kw,
    )


def test_numbers_are_exact_decimals_and_bracket_arrays_pass_through(fake: Echo) -> None:
    async def go():
        async with client(fake) as c:
            return await c.get_json("/money", [("group_by[]", "a"), ("group_by[]", "b")])

    body = run(go())
    assert body["value"] == Decimal("0.8958740000000000")
    assert isinstance(body["value"], Decimal)
    assert body["query"] == [["group_by[]", "a"], ["group_by[]", "b"]]


def test_429_then_success_honours_retry_after(fake: Echo) -> None:
    fake.fail(
        429,
        {"error": {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}},
        headers={"retry-after": "7"},
        times=2,
    )
    sleeps: list[float] = []

    async def go():
        async with client(fake, sleeps=sleeps) as c:
            return await c.get_json("/money")

    assert run(go())["value"] == Decimal("0.8958740000000000")
    assert sleeps == [7.0, 7.0]


def test_insufficient_quota_is_not_retried(fake: Echo) -> None:
    fake.fail(
        429,
        {
            "error": {
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        },
        times=5,
    )

    async def go():
        async with client(fake) as c:
            await c.get_json("/money")

    with pytest.raises(RateLimited, match="exceeded your current quota"):
        run(go())
    assert fake.count("/money") == 1


def test_5xx_storm_ends_in_clear_error_with_bounded_retries(fake: Echo) -> None:
    fake.fail(503, {"error": {"message": "overloaded"}}, times=10)

    async def go():
        async with client(fake) as c:
            await c.get_json("/money")

    with pytest.raises(ProviderError) as info:
        run(go())
    assert str(info.value) == "testprov GET /money -> HTTP 503: overloaded"
    assert fake.count("/money") == 4  # the first try and three retries


def test_total_wait_is_bounded(fake: Echo) -> None:
    fake.fail(429, {"error": {"message": "later"}}, headers={"retry-after": "100"}, times=3)

    async def go():
        async with client(fake, retry=RetryPolicy(max_retries=5, max_total=30)) as c:
            await c.get_json("/money")

    with pytest.raises(RateLimited):
        run(go())
    assert fake.count("/money") == 1


def test_auth_error_and_malformed_json_are_typed_and_redacted(fake: Echo, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})

    async def go():
        async with client(fake) as c:
            await c.get_json("/money")

    with pytest.raises(AuthError) as info:
        run(go())
    assert KEY not in str(info.value)
    assert "[redacted]" in str(info.value)

    fake.fail(200, raw='{"value": 1,')
    with pytest.raises(ContractError, match="not valid JSON"):
        run(go())
    assert KEY not in caplog.text


def test_connection_refused_is_a_provider_error() -> None:
    async def go():
        async with ApiClient("p", "http://127.0.0.1:9", retry=RetryPolicy(max_retries=1, base_delay=0.01)) as c:
            await c.get_json("/x")

    with pytest.raises(ProviderError, match="connection failed"):
        run(go())


def test_pagination_stops_on_repeated_cursor(fake: Echo, caplog: pytest.LogCaptureFixture) -> None:
    async def go():
        async with client(fake) as c:
            pages = paginate(
                lambda cursor: c.get_json("/pages", {"page": cursor} if cursor else None),
                lambda page: page["next_page"],
                what="pages",
            )
            return [page["data"][0] async for page in pages]

    assert run(go()) == [None, "c1", "c2"]
    assert "repeated cursor" in caplog.text
