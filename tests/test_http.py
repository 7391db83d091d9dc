import asyncio
import gzip
import logging
import zlib
from decimal import Decimal

import pytest
from aiohttp import web

from creditgauge.errors import AuthError, ContractError, ProviderError, RateLimited
from creditgauge.fakes.server import FakeProvider, json_response
from creditgauge.http import ApiClient, Budget, LimitExceeded, Limits, RetryPolicy, paginate, parse_json, task_budget

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

        async def packed(request: web.Request) -> web.Response:
            encoding = request.match_info["encoding"]
            text = b'{"value": 0.8958740000000000, "note": "' + b"x" * 5000 + b'"}'
            body = {"gzip": lambda: gzip.compress(text), "deflate": lambda: zlib.compress(text),
                    "br": lambda: b"\x0b\x02\x80{}\x03"}[encoding]()
            return web.Response(body=body, headers={"content-type": "application/json", "content-encoding": encoding})

        app.router.add_get("/money", money)
        app.router.add_get("/pages", page)
        app.router.add_get("/packed/{encoding}", packed)


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


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_answers_are_inflated_exactly(fake: Echo, encoding: str) -> None:
    async def go():
        async with client(fake) as c:
            return await c.get_json(f"/packed/{encoding}")

    body = run(go())
    assert body["value"] == Decimal("0.8958740000000000") and len(body["note"]) == 5000
    assert fake.requests[-1].headers["Accept-Encoding"] == "gzip, deflate"


def test_an_encoding_not_asked_for_is_a_contract_error(fake: Echo) -> None:
    async def go():
        async with client(fake) as c:
            await c.get_json("/packed/br")

    with pytest.raises(ContractError, match="compressed with 'br', which was not asked for"):
        run(go())


def test_the_response_bound_applies_to_the_inflated_size(fake: Echo) -> None:
    async def go():
        with task_budget(Limits(max_response_bytes=4096)) as budget:
            async with client(fake) as c:
                try:
                    await c.get_json("/packed/gzip")
                finally:
                    assert budget.requests == 1 and budget.bytes < 4096  # the compressed bytes read

    with pytest.raises(LimitExceeded, match="larger than 4,096 bytes"):
        run(go())


def test_the_request_bound_of_a_task_counts_retries(fake: Echo) -> None:
    fake.fail(503, {"error": {"message": "overloaded"}}, times=10)

    async def go():
        with task_budget(Limits(max_requests=3)):
            async with client(fake, retry=RetryPolicy(max_retries=10, base_delay=0.001)) as c:
                await c.get_json("/money")

    with pytest.raises(LimitExceeded, match="stopped after 3 requests"):
        run(go())
    assert fake.count("/money") == 3


def test_non_finite_numbers_are_decimals_and_deep_nesting_a_value_error() -> None:
    body = parse_json('{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1E+400}')
    assert [str(body[k]) for k in "abcd"] == ["NaN", "Infinity", "-Infinity", "1E+400"]
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_json("[" * 100_000 + "]" * 100_000)


def test_budgets_of_concurrent_tasks_are_their_own(fake: Echo) -> None:
    async def one(c: ApiClient) -> Budget:
        with task_budget(Limits()) as budget:
            await c.get_json("/money")
            return budget

    async def go():
        async with client(fake) as c:
            return await asyncio.gather(one(c), one(c), one(c))

    assert [b.requests for b in run(go())] == [1, 1, 1]


def test_the_byte_bound_of_a_task_counts_every_answer(fake: Echo) -> None:
    async def go():
        with task_budget(Limits(max_bytes=1000)) as budget:
            async with client(fake) as c:
                try:
                    for _ in range(100):
                        await c.get_json("/money")
                finally:
                    assert 1000 < budget.bytes < 1200 and budget.requests < 100

    with pytest.raises(LimitExceeded, match=r"read more than 1,000 bytes \(sync.max_bytes_per_task\)"):
        run(go())
