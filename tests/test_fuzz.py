"""Generated requests against every documented operation: never a server error.

Schemathesis reads the OpenAPI document the app serves and generates bodies,
query strings and path parameters from it (valid and invalid alike), then
sends them through the EC2 shim in process. Whatever it sends, the answer is a
client error or a success, never a 5xx. Bounded: a few examples per operation.
Each operation is fuzzed twice: anonymously, and as a signed-in administrator,
so bodies and queries also reach the code behind the authentication check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from chalicelib import services
from chalicelib.services import Services
from ec2.wsgi import application
from tests.support import Http

schema = schemathesis.openapi.from_wsgi("/openapi.json", application)


@pytest.fixture(autouse=True)
def _isolated_services(svc: Services) -> Iterator[None]:
    # Every generated case runs against the test's own embedded database.
    yield
    services.install(None)


@pytest.fixture
def runtime() -> str:
    """Generated requests go through the shim, so the sign-up does too (once, not per runtime)."""
    return "wsgi"


@pytest.fixture
def admin_headers(accounts: Any, client: Http) -> dict[str, str]:
    headers: dict[str, str] = accounts.signup("ann", admin=True).headers
    assert client.get("/admin/users", headers=headers).status == 200, "fuzz as a real admin"
    return headers


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_of_a_signed_in_admin_gets_a_server_error(
    case: schemathesis.Case[Any], admin_headers: dict[str, str]
) -> None:
    case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])
