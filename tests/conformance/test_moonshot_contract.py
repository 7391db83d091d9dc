"""FakeMoonshot's responses validate against the Moonshot contract kept in tests/contracts/moonshot and, when
../shared/provider-apis is present, against the originals there."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator

from creditgauge.fakes.moonshot import FakeMoonshot
from shared_paths import PROVIDER_APIS

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "moonshot"
NAMES = ("moonshot_balance", "moonshot_balance_in_debt")


def validate(body: object, schema_file: Path) -> None:
    schema = json.loads(schema_file.read_text())
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)


def served(fake: FakeMoonshot) -> object:
    return json.loads(httpx.get(f"{fake.url}/v1/users/me/balance").text, parse_float=Decimal)


@pytest.mark.parametrize(("name", "voucher", "cash"), [
    ("moonshot_balance", "46.58893", "3.00001"),
    ("moonshot_balance_in_debt", "5.0", "-1.27614"),
])
@pytest.mark.parametrize("region", ["cn", "ai"])
def test_the_fake_serves_the_documented_examples(name: str, voucher: str, cash: str, region: str) -> None:
    with FakeMoonshot(region=region, voucher=voucher, cash=cash) as fake:
        body = served(fake)
    example = json.loads((CONTRACTS / f"{name}.json").read_text(), parse_float=Decimal)
    assert body == example
    validate(body, CONTRACTS / f"{name}.schema.json")


def test_the_local_copies_match_the_shared_contract() -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: only the copies in tests/contracts are checked")
    for name in NAMES:
        assert (CONTRACTS / f"{name}.json").read_text() == (PROVIDER_APIS / "examples" / f"{name}.json").read_text()
        assert (CONTRACTS / f"{name}.schema.json").read_text() == (
            PROVIDER_APIS / "schemas" / f"{name}.schema.json"
        ).read_text()
    with FakeMoonshot() as fake:
        validate(served(fake), PROVIDER_APIS / "schemas" / "moonshot_balance.schema.json")
