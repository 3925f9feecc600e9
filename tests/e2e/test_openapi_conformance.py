"""Schemathesis against the served OpenAPI document: no 5xx, and every response fits the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from local.stack import EmbeddedStack


@pytest.mark.slow
def test_the_api_conforms_to_its_openapi_document(stack: EmbeddedStack) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.url}/swagger?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"GET /v1/drivers", "GET /healthz"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate()

        conforms()
