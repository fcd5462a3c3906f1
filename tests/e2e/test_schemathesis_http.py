"""schemathesis against /openapi.json of the local stack over HTTP: no input may cause a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from infra.local import LocalStack

pytestmark = pytest.mark.xdist_group("stack")


@pytest.fixture(scope="session")
def api_schema(stack: LocalStack):
    return schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_server_errors_over_http(case: schemathesis.Case, stack: LocalStack) -> None:
    token = stack.token("fuzzer", ["applicant", "reviewer"])
    case.call_and_validate(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {token}"},
        # A schema-valid USCC can still fail its check digit (422 by design).
        excluded_checks=[positive_data_acceptance],
    )
