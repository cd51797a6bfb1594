"""Rules of the auth service that HTTP tests cannot reach easily."""

from __future__ import annotations

import threading

from chalicelib import sessions
from chalicelib.auth import service, tokens
from chalicelib.auth.models import RegisterIn
from chalicelib.composition import Clients
from tests.accounts import PASSWORD


def signed_in(svc: Clients) -> service.Issued:
    """Ann, registered and logged in through the service."""
    service.register(
        db=svc.db,
        clock=svc.clock,
        password_hasher=svc.password_hasher,
        rate_limiter=svc.rate_limiter,
        mailer=svc.mailer,
        settings=svc.settings,
        data=RegisterIn(email="ann@example.com", username="ann", password=PASSWORD),
        client_ip="203.0.113.9",
    )
    return service.login(
        db=svc.db,
        clock=svc.clock,
        password_hasher=svc.password_hasher,
        rate_limiter=svc.rate_limiter,
        settings=svc.settings,
        email="ann@example.com",
        password=PASSWORD,
        client_ip="203.0.113.9",
    )


def test_concurrent_refreshes_rotate_once_and_the_loser_gets_grace(svc: Clients) -> None:
    issued = signed_in(svc)
    assert issued.refresh_token is not None
    results: list[service.Issued] = []
    barrier = threading.Barrier(4)

    def refresh() -> None:
        barrier.wait()
        results.append(
            service.refresh(
                db=svc.db, clock=svc.clock, settings=svc.settings, token=issued.refresh_token
            )
        )

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rotated = [r.refresh_token for r in results if r.refresh_token is not None]
    assert len(results) == 4
    assert len(rotated) == 1
    session = sessions.find_current(db=svc.db, token_hash=tokens.digest(rotated[0]))
    assert session is not None
    assert session.revoked_at is None


def test_a_refresh_token_is_stored_only_as_its_sha256(svc: Clients) -> None:
    issued = signed_in(svc)
    assert issued.refresh_token is not None
    [doc] = svc.db.sessions.find()
    assert doc["token_hash"] == tokens.digest(issued.refresh_token)
    assert issued.refresh_token not in str(doc)
