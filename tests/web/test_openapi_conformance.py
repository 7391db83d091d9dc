"""schemathesis against the running API: a bounded, seeded run (fixed examples per operation, positive and negative
data) on a real uvicorn server over the test dataset, with every built-in check. It must find no server error and
no conformance failure: responses on their schema, documented statuses, valid requests accepted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import Engine

from creditgauge.web import create_app

from . import dataset
from .live_server import serving

EXAMPLES_PER_OPERATION = 30
# Operations with rules no JSON Schema can say, so "valid data should have been accepted" cannot apply to them
# (every other check still does, and their 400/422 answers are documented and checked against their schema):
RULES_BEYOND_THE_SCHEMA = {
    "POST /api/v1/events": "per item: the account must be in the config, cached <= input tokens, ts in range",
    "POST /api/v1/ledger": "the account must be in the config; amount a decimal string",
    "GET /api/v1/spend": "`by` dimensions depend on `source` (key, endpoint, tag:... are tracked only)",
    "GET /api/v1/usage": "`by` dimensions depend on `source`",
    "GET /api/v1/reconcile": "since/until must be days of the calendar (no 2026-02-30)",
    "GET /api/v1/keys": "the account must be in the config; since before until; days of the calendar",
}


@pytest.fixture
def server(store: Engine) -> Iterator[str]:
    with serving(create_app(dataset.config(), store, scheduler=False)) as base_url:
        yield base_url


def _failures(operation: schemathesis.APIOperation, mode: GenerationMode, base_url: str) -> list[str]:
    excluded = [schemathesis.checks.positive_data_acceptance] if operation.label in RULES_BEYOND_THE_SCHEMA else []
    found: list[str] = []

    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base_url, excluded_checks=excluded)

    try:
        run()
    except Unsatisfiable:  # no negative data exists for an operation that takes no input
        assert mode is GenerationMode.NEGATIVE, operation.label
    except (Exception, BaseExceptionGroup) as failure:  # every operation's failures, collected, then asserted
        found.append(f"{operation.label} ({mode}): {str(failure).strip()[:2000]}")
    return found


def test_the_api_keeps_its_openapi_document(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/api/v1/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _failures(operation, mode, server)
    assert not failures, "\n\n".join(failures)
