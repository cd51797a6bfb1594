"""Generated requests against every documented operation: never a server error.

Schemathesis reads the OpenAPI document the app serves and generates bodies,
query strings and path parameters from it (valid and invalid alike), then
sends them through the EC2 shim in process. Whatever it sends, the answer is a
client error or a success, never a 5xx. Bounded: a few examples per operation.
Each operation is fuzzed twice: anonymously, and as a signed-in administrator,
so bodies and queries also reach the code behind the authentication check.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from chalicelib.composition import create_app
from chalicelib.routing import Api
from ec2.shim import Shim, ShimConfig
from tests.support import Http

# Generated password-reset requests would each sleep the real timing floor.
pytestmark = pytest.mark.usefixtures("no_reset_floor")

# Any app serves the same document; reading it builds no client.
schema = schemathesis.openapi.from_wsgi("/openapi.json", Shim(create_app(), ShimConfig.load({})))


@pytest.fixture
def shim(app: Api) -> Shim:
    """The test's app behind the EC2 shim: every generated case runs on its own database."""
    return Shim(app, ShimConfig.load({}))


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
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case[Any], shim: Shim) -> None:
    case.call_and_validate(app=shim, checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_of_a_signed_in_admin_gets_a_server_error(
    case: schemathesis.Case[Any], admin_headers: dict[str, str], shim: Shim
) -> None:
    case.call_and_validate(app=shim, headers=admin_headers, checks=[not_a_server_error])
