"""FakeDeepSeek's responses validate against the DeepSeek contract kept in tests/contracts/deepseek and, when
../shared/provider-apis is present, against the originals there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator

from creditgauge.fakes.deepseek import FakeDeepSeek, balance_info
from shared_paths import PROVIDER_APIS

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "deepseek"
NAME = "deepseek_user_balance"


def validate(body: object, schema_dir: Path) -> None:
    schema = json.loads((schema_dir / f"{NAME}.schema.json").read_text())
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)


@pytest.fixture
def fake() -> Iterator[FakeDeepSeek]:
    with FakeDeepSeek() as server:
        yield server


def test_the_default_balance_is_the_documented_example(fake: FakeDeepSeek) -> None:
    body = httpx.get(f"{fake.url}/user/balance", headers={"Authorization": "Bearer sk-x"}).json()
    assert body == json.loads((CONTRACTS / f"{NAME}.json").read_text())
    validate(body, CONTRACTS)


def test_built_balances_validate(fake: FakeDeepSeek) -> None:
    fake.balances = [balance_info("CNY", "0.00", "0.00"), balance_info("USD", "1.5", "2.25")]
    body = httpx.get(f"{fake.url}/user/balance", headers={"Authorization": "Bearer sk-x"}).json()
    assert body["balance_infos"][1]["total_balance"] == "3.75"
    validate(body, CONTRACTS)


def test_the_local_copy_matches_the_shared_contract(fake: FakeDeepSeek) -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: only the copy in tests/contracts is checked")
    for suffix in (".json", ".schema.json"):
        assert (CONTRACTS / f"{NAME}{suffix}").read_text() == (
            PROVIDER_APIS / ("schemas" if suffix == ".schema.json" else "examples") / f"{NAME}{suffix}"
        ).read_text()
    validate(httpx.get(f"{fake.url}/user/balance").json(), PROVIDER_APIS / "schemas")
