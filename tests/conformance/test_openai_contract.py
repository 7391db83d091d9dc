"""FakeOpenAI's responses, errors included, validate against the OpenAI contract kept in tests/contracts/openai:
JSON Schemas extracted from provider-apis/openai-openapi-subset.yaml (official endpoints) and the legacy schemas
copied from provider-apis/schemas. When ../shared/provider-apis is present, the copies must equal a fresh
extraction and the fake is validated against the originals too.

Regenerate the local copies after the shared contract changes:
    .venv/bin/python tests/conformance/test_openai_contract.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # shared_paths, also when run as a script
from creditgauge.fakes.openai import ENDPOINTS, USAGE_TYPES, FakeOpenAI
from creditgauge.http import parse_json
from shared_paths import PROVIDER_APIS

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "openai"
SPEC = "openai-openapi-subset.yaml"
COMPONENTS = ("UsageResponse", "ProjectListResponse", "ProjectApiKeyListResponse", "OrganizationSpendLimitResource",
              "ErrorResponse")
LEGACY = ("openai_legacy_billing_subscription", "openai_legacy_billing_usage", "openai_legacy_credit_grants")
ADMIN = {"authorization": "Bearer sk-admin-conformance-0000"}
SESSION = {"authorization": "Bearer sess-conformance00000000"}
EXAMPLE_PREFIXES = ("openai_costs", "openai_usage_", "openai_project", "openai_spend_limit", "openai_error_",
                    "openai_legacy_")
OFF_SPEC_EXAMPLES = {"openai_costs_value_as_string.json"}  # deliberately the live shape, not the spec's


# ---- extraction: OpenAPI components -> standalone JSON Schema 2020-12 --------------------------------------------

_DROPPED = {"description", "discriminator", "example", "examples", "x-oaiMeta", "x-stainless-const"}


def extract(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """Component `name` as a JSON Schema with every component it references under $defs. Documentation keys are
    dropped; OpenAPI 3.0's `nullable: true` becomes a null type; `discriminator` is informational and dropped."""
    components = spec["components"]["schemas"]
    defs: dict[str, Any] = {}

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or key.startswith("x-") or key == "nullable":
                continue
            if key == "$ref":
                ref = value.rsplit("/", 1)[-1]
                if ref not in defs:
                    defs[ref] = {}
                    defs[ref] = convert(components[ref])
                out["$ref"] = f"#/$defs/{ref}"
            else:
                out[key] = convert(value)
        if node.get("nullable") is True and "type" in out:
            out["type"] = [out["type"], "null"]
        return out

    root = convert({"$ref": f"#/components/schemas/{name}"})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$comment": f"Extracted from provider-apis/{SPEC} ({name}) by tests/conformance/test_openai_contract.py",
            **root, "$defs": dict(sorted(defs.items()))}


@cache
def load_spec(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / SPEC).read_text())


def regenerate() -> None:
    """Write the local copies from ../shared/provider-apis."""
    CONTRACTS.mkdir(parents=True, exist_ok=True)
    spec = load_spec(PROVIDER_APIS)
    for name in COMPONENTS:
        (CONTRACTS / f"{name}.schema.json").write_text(json.dumps(extract(spec, name), indent=2) + "\n")
    for name in LEGACY:
        original = PROVIDER_APIS / "schemas" / f"{name}.schema.json"
        (CONTRACTS / original.name).write_bytes(original.read_bytes())
    for example in shared_examples():
        (CONTRACTS / example.name).write_bytes(example.read_bytes())


def shared_examples() -> list[Path]:
    """The examples of the endpoints the connectors read (not the inference ones, which capture/ tests own)."""
    return [path for path in sorted((PROVIDER_APIS / "examples").glob("openai_*.json"))
            if path.name.startswith(EXAMPLE_PREFIXES) and path.name != "openai_legacy_v1_usage.json"]


# ---- which contract each response follows -------------------------------------------------------------------------

def local_schema(name: str) -> dict[str, Any]:
    return json.loads((CONTRACTS / f"{name}.schema.json").read_text())


def shared_schema(name: str) -> dict[str, Any]:
    if name in COMPONENTS:
        return extract(load_spec(PROVIDER_APIS), name)
    return json.loads((PROVIDER_APIS / "schemas" / f"{name}.schema.json").read_text())


def check(body: Any, name: str, schema_of=local_schema) -> None:
    Draft202012Validator(schema_of(name)).validate(body)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(days=40, end=date(2026, 8, 20), seed=3) as server:
        yield server


START = 1_785_542_400 - 20 * 86_400  # 2026-07-12
START_OF_HISTORY = 1_785_542_400 + 15 * 86_400  # 2026-08-16, the first day of a 5-day history ending 2026-08-20


def get(fake: FakeOpenAI, path: str, params: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(fake.url + path, params=params, headers=ADMIN if headers is None else headers)


def responses(fake: FakeOpenAI) -> Iterator[tuple[str, str, Any]]:
    """(what, contract, body) for every endpoint and every error shape the fake serves."""
    costs = ENDPOINTS["costs"]
    for group in ([], ["project_id"], ["line_item"], list(costs.dimensions)):
        params = [("start_time", START), ("limit", 5), *(("group_by[]", g) for g in group)]
        yield f"costs {group}", "UsageResponse", get(fake, costs.path, params)
    for kind in USAGE_TYPES:
        ep = ENDPOINTS[kind]
        for width in ep.widths:
            params = [("start_time", START), ("bucket_width", width), ("limit", 3),
                      *(("group_by", g) for g in ep.dimensions)]
            yield f"usage {kind} {width}", "UsageResponse", get(fake, ep.path, params)
    projects = get(fake, "/v1/organization/projects", {"include_archived": "true", "limit": 2})
    yield "projects", "ProjectListResponse", projects
    first = projects.json()["data"][0]["id"]
    yield "api keys", "ProjectApiKeyListResponse", get(fake, f"/v1/organization/projects/{first}/api_keys")
    yield "spend limit", "OrganizationSpendLimitResource", get(fake, "/v1/organization/spend_limit")
    yield "legacy subscription", LEGACY[0], get(fake, "/dashboard/billing/subscription")
    yield "legacy usage", LEGACY[1], get(fake, "/v1/dashboard/billing/usage",
                                          {"start_date": "2026-08-01", "end_date": "2026-08-21"})
    yield "legacy credit grants", LEGACY[2], get(fake, "/dashboard/billing/credit_grants", headers=SESSION)
    errors = {
        "no key": get(fake, costs.path, {"start_time": START}, headers={}),
        "project key": get(fake, costs.path, {"start_time": START}, {"authorization": "Bearer sk-proj-abcdefgh12"}),
        "bad limit": get(fake, costs.path, {"start_time": START, "limit": 181}),
        "bad group_by": get(fake, ENDPOINTS["vector_stores"].path, {"start_time": START, "group_by[]": "model"}),
        "bad cursor": get(fake, costs.path, {"start_time": START, "page": "page_%%%"}),
        "no start_time": get(fake, costs.path),
        "unknown project": get(fake, "/v1/organization/projects/proj_nope/api_keys"),
        "secret key for credit grants": get(fake, "/dashboard/billing/credit_grants"),
    }
    for what, response in errors.items():
        yield f"error: {what}", "ErrorResponse", response


def test_every_response_follows_the_local_contract(fake: FakeOpenAI) -> None:
    seen = set()
    for what, contract, response in responses(fake):
        assert (response.status_code < 400) == (not what.startswith("error")), (what, response.text)
        check(parse_json(response.text), contract)
        seen.add(contract)
    assert seen == {*COMPONENTS, *LEGACY}


def test_a_rate_limited_response_has_the_documented_body_and_retry_after(fake: FakeOpenAI) -> None:
    fake.rate_limit(retry_after=3, path="/usage/images")
    response = get(fake, ENDPOINTS["images"].path, {"start_time": START})
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    check(response.json(), "ErrorResponse")


def test_amounts_sent_as_strings_break_only_the_value_type() -> None:
    """The live off-spec shape: the spec's schema rejects it exactly at amount.value, and nowhere else."""
    with FakeOpenAI(days=5, end=date(2026, 8, 20), amounts_as_strings=True) as server:
        body = parse_json(get(server, "/v1/organization/costs", {"start_time": START_OF_HISTORY}).text)
    errors = list(Draft202012Validator(local_schema("UsageResponse")).iter_errors(body))
    assert errors
    for error in errors:
        offending = [e for e in error.context if e.validator == "type"] if error.context else [error]
        assert any(list(e.absolute_path)[-2:] == ["amount", "value"] for e in offending), error.message


def test_the_contract_examples_validate_against_the_local_schemas() -> None:
    index = {"openai_costs": "UsageResponse", "openai_usage_": "UsageResponse",
             "openai_projects": "ProjectListResponse", "openai_project_api_keys": "ProjectApiKeyListResponse",
             "openai_spend_limit": "OrganizationSpendLimitResource", "openai_error_": "ErrorResponse",
             "openai_legacy_billing_subscription": LEGACY[0], "openai_legacy_billing_usage": LEGACY[1],
             "openai_legacy_credit_grants": LEGACY[2]}
    checked = 0
    for example in sorted(CONTRACTS.glob("openai_*.json")):
        if example.name.endswith(".schema.json") or example.name in OFF_SPEC_EXAMPLES:
            continue
        contract = next((c for prefix, c in index.items() if example.name.startswith(prefix)), None)
        if contract is not None:
            check(parse_json(example.read_text()), contract)
            checked += 1
    assert checked >= 20


def test_the_local_copies_match_the_shared_contract() -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: only the copies in tests/contracts/openai are checked")
    spec = load_spec(PROVIDER_APIS)
    for name in COMPONENTS:
        assert local_schema(name) == extract(spec, name), f"regenerate: python {Path(__file__).name}"
    for name in LEGACY:
        assert local_schema(name) == shared_schema(name)
    for example in shared_examples():
        assert (CONTRACTS / example.name).read_bytes() == example.read_bytes(), example.name


def test_every_response_follows_the_shared_contract(fake: FakeOpenAI) -> None:
    if not PROVIDER_APIS.exists():
        pytest.skip(f"{PROVIDER_APIS} is absent: the fake was checked against tests/contracts/openai only")
    for _, contract, response in responses(fake):
        check(parse_json(response.text), contract, shared_schema)


if __name__ == "__main__":
    regenerate()
    print(f"wrote {CONTRACTS}")
