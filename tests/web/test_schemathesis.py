"""A property-based run of the API against its own OpenAPI schema: whatever a request
holds, the answer is never a 5xx (a running system behind it, NATS up)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.web.conftest import System


@pytest.mark.timeout(900)
def test_no_request_answers_a_server_error(system: System) -> None:
    schema = schemathesis.openapi.from_url(system.base + "/api/v1/openapi.json")
    tried: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def never_5xx(case: Any) -> None:
            response = case.call(base_url=system.base, timeout=15)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            assert "Traceback" not in response.text

        never_5xx()
        tried.append(operation.label)
    assert len(tried) >= 15, tried
