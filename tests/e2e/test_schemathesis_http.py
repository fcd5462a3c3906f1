"""schemathesis against /openapi.json of the local stack over HTTP: no input may cause a 5xx.

Only the server-error check runs here: over HTTP the gateway answers some requests itself, as API
Gateway does (a 401 `{"message": "Unauthorized"}` from the JWT authorizer, a 404 for an undeclared
method), and those bodies are API Gateway's, not the function's schema. The integration suite checks
the function's responses against the schema in process (tests/integration/test_api_schemathesis.py).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

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
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors_over_http(case: schemathesis.Case, stack: LocalStack) -> None:
    token = stack.token("fuzzer", ["applicant", "reviewer"])
    case.call_and_validate(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
    )
