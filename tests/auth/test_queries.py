"""What accounts cost in database operations, counted on the real code path."""

from __future__ import annotations

import pytest

from chalicelib.composition import Clients
from tests.accounts import Accounts
from tests.querycount import Counter
from tests.support import Http

pytestmark = pytest.mark.usefixtures("no_reset_floor")


@pytest.fixture
def svc(counting_svc: Clients) -> Clients:
    """Every test here counts its app's database operations."""
    return counting_svc


def test_authentication_is_one_read_that_also_checks_the_session(
    accounts: Accounts, client: Http, counted: Counter
) -> None:
    session = accounts.signup("ann")
    counted.reset()
    assert client.get("/users/me", headers=session.headers).status == 200
    # One read authenticates (the session's liveness included); one is the route's own.
    assert counted.calls == [("users", "find_one"), ("users", "find_one")]
    assert client.post("/auth/logout", headers=session.headers).status == 204
    counted.reset()
    assert client.get("/users/me", headers=session.headers).status == 401
    assert counted.calls == [("users", "find_one")]


def test_a_failed_login_does_the_same_work_for_known_and_unknown_emails(
    accounts: Accounts, client: Http, counted: Counter
) -> None:
    accounts.register("ann")
    work = []
    for email in ("ann@example.com", "nobody@example.com"):
        counted.reset()
        reply = client.post("/auth/login", json={"email": email, "password": "wrong-password-1"})
        assert reply.status == 401
        work.append(list(counted.calls))
    known, unknown = work
    assert known == unknown
    assert ("users", "find_one") in known
