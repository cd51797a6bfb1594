"""Accounts end to end through HTTP: what a client of /auth sees."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher

from chalicelib import sessions
from chalicelib.auth import service
from chalicelib.composition import Clients
from tests.accounts import PASSWORD, Accounts
from tests.support import FakeClock, Http, Reply

pytestmark = pytest.mark.usefixtures("no_reset_floor")


# ------------------------------------------------------------------ register


def test_register_creates_an_unverified_user_and_mails_a_verification_link(
    accounts: Accounts,
) -> None:
    reply = accounts.register("ann")
    assert reply.status == 201
    user = reply.json["user"]
    assert user["email"] == "ann@example.com"
    assert user["username"] == "ann"
    assert user["email_verified"] is False
    assert user["roles"] == ["user"]
    assert "password" not in str(reply.json)
    [message] = accounts.messages()
    assert message["To"] == "ann@example.com"
    assert message.is_multipart()
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= kinds
    assert "http://localhost:5173/verify-email?token=" in message.as_string()


def test_email_and_username_are_normalised(client: Http) -> None:
    reply = client.post(
        "/auth/register",
        json={"email": "  Ann.Smith@Example.COM ", "username": "Ann_S", "password": PASSWORD},
    )
    assert reply.status == 201
    assert reply.json["user"]["email"] == "ann.smith@example.com"
    assert reply.json["user"]["username"] == "ann_s"


@pytest.mark.parametrize(
    ("field", "email", "username"),
    [("email", "ANN@example.com", "other"), ("username", "other@example.com", "ANN")],
)
def test_a_taken_email_or_username_is_a_409_and_writes_nothing(
    accounts: Accounts, client: Http, svc: Clients, field: str, email: str, username: str
) -> None:
    accounts.register("ann")
    reply = client.post(
        "/auth/register", json={"email": email, "username": username, "password": PASSWORD}
    )
    assert reply.status == 409
    assert reply.problem["code"] == f"{field}_taken"
    assert svc.db.users.count_documents({}) == 1
    assert svc.db.tokens.count_documents({}) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "not-an-email", "username": "ann", "password": PASSWORD}, {"email"}),
        ({"email": "a@example.com", "username": "an", "password": PASSWORD}, {"username"}),
        ({"email": "a@example.com", "username": "ann-x", "password": PASSWORD}, {"username"}),
        ({"email": "a@example.com", "username": "x" * 31, "password": PASSWORD}, {"username"}),
        ({"email": "a@example.com", "username": "ann", "password": "short1"}, {"password"}),
        ({"email": "a@example.com", "username": "ann", "password": "Password123"}, {"password"}),
        (
            {"email": "a@example.com", "username": "annabelle10", "password": "Annabelle10"},
            {"password"},
        ),
        ({"email": "bad", "username": "!", "password": "x"}, {"email", "username", "password"}),
        ({"email": "a@example.com", "username": "admin", "password": PASSWORD}, {"username"}),
        ({"email": "a@example.com", "username": "ROOT", "password": PASSWORD}, {"username"}),
        ({"email": "a@example.com", "username": "Support", "password": PASSWORD}, {"username"}),
        ({"email": "a@example.com", "username": "api", "password": PASSWORD}, {"username"}),
        ({"email": "a@example.com", "username": "settings", "password": PASSWORD}, {"username"}),
        ({"email": "a@example.com", "username": "signup", "password": PASSWORD}, {"username"}),
        (
            {"email": "a@example.com", "username": "ann", "password": PASSWORD, "display_name": ""},
            {"display_name"},
        ),
        (
            {
                "email": "a@example.com",
                "username": "ann",
                "password": PASSWORD,
                "display_name": "Ann\r\nBcc: x@example.com",
            },
            {"display_name"},
        ),
        ({"email": {"$gt": ""}, "username": "ann", "password": PASSWORD}, {"email"}),
        ({"username": "ann", "password": PASSWORD}, {"email"}),
    ],
)
def test_invalid_registrations_name_every_failing_field(
    client: Http, svc: Clients, body: dict[str, Any], fields: set[str]
) -> None:
    reply = client.post("/auth/register", json=body)
    assert reply.status == 422
    assert {e["field"] for e in reply.problem["errors"]} == fields
    assert svc.db.users.count_documents({}) == 0


def test_passwords_are_stored_as_argon2id_hashes(accounts: Accounts, svc: Clients) -> None:
    accounts.register("ann")
    doc: Any = svc.db.users.find_one({"username": "ann"})
    assert doc["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(doc)


# ------------------------------------------------------------- verification


def test_the_mailed_link_verifies_the_address_once(accounts: Accounts, client: Http) -> None:
    accounts.register("ann")
    token = accounts.last_token("ann@example.com")
    assert client.post("/auth/verify-email", json={"token": token}).status == 204
    again = client.post("/auth/verify-email", json={"token": token})
    assert again.status == 422
    assert again.problem["errors"][0]["field"] == "token"
    session = accounts.session(accounts.login("ann"))
    assert session.user["email_verified"] is True


def test_a_verification_link_expires_after_24_hours(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    accounts.register("ann")
    clock.advance(hours=24, seconds=1)
    assert accounts.verify("ann").status == 422


def test_resend_mails_a_new_link_and_the_old_one_stops_working(
    accounts: Accounts, client: Http
) -> None:
    session = accounts.signup("ann", verified=False)
    old = accounts.last_token("ann@example.com")
    assert client.post("/auth/verify-email/resend", headers=session.headers).status == 204
    new = accounts.last_token("ann@example.com")
    assert new != old
    assert client.post("/auth/verify-email", json={"token": old}).status == 422
    assert client.post("/auth/verify-email", json={"token": new}).status == 204


def test_resend_is_limited_to_three_an_hour(accounts: Accounts, client: Http) -> None:
    session = accounts.signup("ann", verified=False)
    statuses = [
        client.post("/auth/verify-email/resend", headers=session.headers).status for _ in range(4)
    ]
    assert statuses == [204, 204, 204, 429]


# -------------------------------------------------------------------- login


def test_login_returns_a_jwt_pair_and_an_httponly_cookie(accounts: Accounts, svc: Clients) -> None:
    accounts.register("ann")
    reply = accounts.login("ann")
    assert reply.status == 200
    body = reply.json
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["user"]["username"] == "ann"
    assert len(body["access_token"].split(".")) == 3
    claims = jwt.decode(
        body["access_token"], svc.settings.jwt_secret.get_secret_value(), algorithms=["HS256"]
    )
    assert {"sub", "exp", "iat", "jti", "roles", "sid"} == set(claims)
    assert claims["exp"] - claims["iat"] == 900
    assert claims["roles"] == ["user"]
    cookie = reply.cookie("refresh_token")
    assert cookie is not None
    assert cookie.startswith(f"refresh_token={body['refresh_token']};")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/auth"):
        assert attribute in cookie


def test_the_cookie_is_secure_except_on_plain_http_localhost(
    accounts: Accounts, client: Http
) -> None:
    accounts.register("ann")
    body = {"email": "ann@example.com", "password": PASSWORD}
    local = client.post("/auth/login", json=body, headers={"Host": "127.0.0.1:8000"})
    deployed = client.post("/auth/login", json=body, headers={"Host": "api.snapboard.example"})
    proxied = client.post(
        "/auth/login", json=body, headers={"Host": "localhost", "X-Forwarded-Proto": "https"}
    )
    for name in ("refresh_token", "known_device"):
        assert "Secure" not in str(local.cookie(name))
        assert "Secure" in str(deployed.cookie(name))
        assert "Secure" in str(proxied.cookie(name))


def test_login_sets_and_logout_clears_the_refresh_cookie_with_every_attribute(
    accounts: Accounts, client: Http
) -> None:
    accounts.signup("ann")
    deployed = {"Host": "api.snapboard.example"}
    body = {"email": "ann@example.com", "password": PASSWORD}
    login = client.post("/auth/login", json=body, headers=deployed)
    token = login.json["refresh_token"]
    assert login.cookie("refresh_token") == (
        f"refresh_token={token}; HttpOnly; Max-Age=2592000; Path=/auth; SameSite=Lax; Secure"
    )
    headers = {**deployed, "Authorization": f"Bearer {login.json['access_token']}"}
    logout = client.post("/auth/logout", headers=headers)
    assert logout.headers.get_all("set-cookie") == [
        "refresh_token=; HttpOnly; Max-Age=0; Path=/auth; SameSite=Lax; Secure"
    ]  # the known-device cookie stays: signing out does not make the device a stranger
    jar: SimpleCookie = SimpleCookie()
    jar.load(logout.headers["set-cookie"])
    cleared = jar["refresh_token"]
    assert (cleared.value, cleared["max-age"], cleared["path"]) == ("", "0", "/auth")
    assert cleared["httponly"] is True
    assert cleared["secure"] is True
    assert cleared["samesite"] == "Lax"


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@example.com", "wrong-password-1"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_credentials_get_the_same_401(
    accounts: Accounts, client: Http, email: str, password: str
) -> None:
    accounts.register("ann")
    reply = client.post("/auth/login", json={"email": email, "password": password})
    assert reply.status == 401
    assert reply.problem["code"] == "invalid_credentials"
    assert reply.problem["detail"] == "The email or password is wrong."


def test_login_rehashes_a_password_when_the_parameters_change(
    accounts: Accounts, svc: Clients, serve: Callable[[Clients], Http]
) -> None:
    accounts.register("ann")
    before = _user_doc(svc, "ann")["password_hash"]
    # The same database, served after a deploy that changed the hasher's parameters.
    retuned = Clients(
        svc.settings,
        mongo_client=svc.mongo_client,
        password_hasher=PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1),
        clock=svc.clock,
    )
    after_deploy = Accounts(serve(retuned), retuned)
    assert after_deploy.login("ann").status == 200
    after = _user_doc(svc, "ann")["password_hash"]
    assert after != before
    assert "m=1024,t=2,p=1" in after
    assert after_deploy.login("ann").status == 200


def test_an_unverified_user_can_log_in_and_read(accounts: Accounts, client: Http) -> None:
    session = accounts.signup("ann", verified=False)
    assert client.get("/users/me", headers=session.headers).status == 200


def test_a_disabled_user_cannot_log_in_or_refresh(
    accounts: Accounts, client: Http, svc: Clients
) -> None:
    session = accounts.signup("ann")
    svc.db.users.update_one({"username": "ann"}, {"$set": {"disabled": True}})
    assert accounts.login("ann").problem["code"] == "account_disabled"
    refresh = client.post("/auth/refresh", json={"refresh_token": session.refresh_token})
    assert refresh.status == 401
    assert client.get("/users/me", headers=session.headers).status == 401


# ------------------------------------------------------------- throttling

# Tests that make requests from many addresses run through the EC2 shim, which
# believes X-Forwarded-For from loopback (its trusted proxy); the Lambda test
# client always calls from one address.
from_many_addresses = pytest.mark.parametrize("runtime", ["wsgi"], indirect=True)
OWNER_IP = "203.0.113.5"


def _login(
    client: Http, email: str, password: str, *, ip: str = OWNER_IP, device: str | None = None
) -> Reply:
    headers = {"X-Forwarded-For": ip}
    if device is not None:
        headers["Cookie"] = f"known_device={device}"
    return client.post("/auth/login", json={"email": email, "password": password}, headers=headers)


def _device(reply: Reply) -> str:
    """The known-device cookie a reply set."""
    cookie = reply.cookie("known_device")
    assert cookie is not None, reply.headers
    return cookie.split(";", 1)[0].partition("=")[2]


def _strangers_fail(client: Http, email: str, times: int, *, first: int = 0) -> list[int]:
    """Wrong passwords for ``email``, each from another address, as a botnet would try."""
    return [
        _login(client, email, f"guess-{n}-harbour", ip=f"198.51.100.{n}").status
        for n in range(first, first + times)
    ]


def _same_answer(reply: Reply) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in reply.headers.items() if k != "x-request-id"}
    return reply.status, reply.body, headers


@from_many_addresses
def test_known_and_unknown_emails_answer_alike_at_every_count(
    accounts: Accounts, client: Http
) -> None:
    accounts.register("ann")
    for attempt in range(12):
        ip = f"198.51.100.{attempt}"
        known = _login(client, "ann@example.com", "wrong-password-1", ip=ip)
        unknown = _login(client, "nobody@example.com", "wrong-password-1", ip=ip)
        assert _same_answer(known) == _same_answer(unknown), attempt
        assert known.status == (401 if attempt < 10 else 429), attempt
    assert known.problem["code"] == "login_throttled"
    assert 0 < int(known.headers["retry-after"]) <= 15 * 60


@from_many_addresses
def test_failures_from_many_addresses_slow_new_devices_but_not_the_owners(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    accounts.register("ann")
    device = _device(_login(client, "ann@example.com", PASSWORD))
    assert _strangers_fail(client, "ann@example.com", 30) == [401] * 10 + [429] * 20
    # A device that never signed in waits, whoever it is: that is what slows guessing...
    assert _login(client, "ann@example.com", PASSWORD, ip="192.0.2.1").status == 429
    # ...but the owner's own device is judged by its own failures, not the strangers'.
    owner = _login(client, "ann@example.com", PASSWORD, device=device)
    assert owner.status == 200
    assert _device(owner) != device  # renewed
    clock.advance(minutes=15)
    assert _login(client, "ann@example.com", PASSWORD, ip="192.0.2.1").status == 200


@from_many_addresses
def test_a_hundred_failures_a_day_stop_new_devices_for_the_day(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    accounts.register("ann")
    for round_ in range(10):
        assert _strangers_fail(client, "ann@example.com", 10, first=round_ * 10) == [401] * 10
        clock.advance(minutes=15)
    throttled = _login(client, "ann@example.com", PASSWORD, ip="192.0.2.1")
    assert throttled.status == 429
    assert int(throttled.headers["retry-after"]) > 15 * 60


@from_many_addresses
def test_a_known_device_has_a_budget_of_its_own_and_then_is_a_stranger(
    accounts: Accounts, client: Http
) -> None:
    accounts.register("ann")
    device = _device(_login(client, "ann@example.com", PASSWORD))
    statuses = [
        _login(client, "ann@example.com", "wrong-password-1", ip=f"198.51.100.{n}", device=device)
        for n in range(21)
    ]
    # Ten on its own budget, then ten on the address's, then throttled like anyone.
    assert [reply.status for reply in statuses] == [401] * 20 + [429]
    assert statuses[-1].problem["code"] == "login_throttled"


@from_many_addresses
def test_another_accounts_device_cookie_earns_nothing(accounts: Accounts, client: Http) -> None:
    accounts.register("ann")
    accounts.register("bob")
    bobs = _device(accounts.login("bob"))
    _strangers_fail(client, "ann@example.com", 10)
    assert _login(client, "ann@example.com", PASSWORD, device=bobs).status == 429
    assert _login(client, "ann@example.com", PASSWORD, device="forged.device.cookie").status == 429


@from_many_addresses
def test_the_owner_recovers_through_the_reset_link_while_strangers_keep_failing(
    accounts: Accounts, client: Http
) -> None:
    accounts.register("ann")
    _strangers_fail(client, "ann@example.com", 12)
    assert _login(client, "ann@example.com", PASSWORD).status == 429  # a new device
    # Strangers ask for resets too; they spend their own addresses' quota, not the owner's.
    for n in range(12):
        reply = client.post(
            "/auth/password-reset",
            json={"email": "ann@example.com"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
        assert reply.status == 202
    owner = {"X-Forwarded-For": OWNER_IP}
    asked = client.post("/auth/password-reset", json={"email": "ann@example.com"}, headers=owner)
    assert asked.status == 202
    token = accounts.last_token("ann@example.com")
    confirm = client.post(
        "/auth/password-reset/confirm",
        json={"token": token, "password": "new-harbour-42"},
        headers=owner,
    )
    assert confirm.status == 204
    device = _device(confirm)
    assert _strangers_fail(client, "ann@example.com", 12, first=20)[-1] == 429  # they go on
    assert _login(client, "ann@example.com", "new-harbour-42", device=device).status == 200


@from_many_addresses
def test_a_device_known_before_a_password_reset_is_a_stranger_after_it(
    accounts: Accounts, client: Http
) -> None:
    accounts.register("ann")
    # Someone who had the old password (and so a known-device cookie)...
    thief = _device(_login(client, "ann@example.com", PASSWORD, ip="198.51.100.250"))
    client.post("/auth/password-reset", json={"email": "ann@example.com"})
    confirm = client.post(
        "/auth/password-reset/confirm",
        json={"token": accounts.last_token("ann@example.com"), "password": "new-harbour-42"},
    )
    owner = _device(confirm)
    _strangers_fail(client, "ann@example.com", 10)
    # ...is throttled like any stranger once the owner has reset it; the owner is not.
    assert _login(client, "ann@example.com", "new-harbour-43", device=thief).status == 429
    assert _login(client, "ann@example.com", "new-harbour-42", device=owner).status == 200


def test_the_same_address_and_email_are_limited_to_ten_attempts_a_minute(
    accounts: Accounts, clock: FakeClock
) -> None:
    accounts.register("ann")
    statuses = [accounts.login("nobody", password="wrong-password-1").status for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    limited = accounts.login("nobody", password="wrong-password-1")
    assert limited.problem["code"] == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert accounts.login("ann").status == 200  # another address from the same IP


def test_login_is_limited_to_thirty_a_minute_per_ip(accounts: Accounts) -> None:
    statuses = [accounts.login(f"user{n}", password="wrong-password-1").status for n in range(31)]
    assert statuses == [401] * 30 + [429]


def test_register_is_limited_to_five_an_hour_per_ip(accounts: Accounts, clock: FakeClock) -> None:
    statuses = [accounts.register(f"user{n}").status for n in range(6)]
    assert statuses == [201] * 5 + [429]
    clock.advance(hours=1)
    assert accounts.register("user9").status == 201


# ------------------------------------------------------------------ refresh


def test_refresh_rotates_and_each_token_works_once(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    first = accounts.signup("ann")
    reply = client.post("/auth/refresh", json={"refresh_token": first.refresh_token})
    second = accounts.session(reply)
    assert second.refresh_token != first.refresh_token
    assert client.get("/users/me", headers=second.headers).status == 200
    clock.advance(seconds=30)
    third = accounts.session(
        client.post("/auth/refresh", json={"refresh_token": second.refresh_token})
    )
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


def test_refresh_reads_the_cookie_when_the_body_is_empty(accounts: Accounts, client: Http) -> None:
    first = accounts.signup("ann")
    reply = client.post("/auth/refresh", headers={"Cookie": f"refresh_token={first.refresh_token}"})
    assert reply.status == 200
    assert "refresh_token=" in reply.headers["set-cookie"]


def test_reusing_a_rotated_refresh_token_revokes_the_family(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    first = accounts.signup("ann")
    second = accounts.session(
        client.post("/auth/refresh", json={"refresh_token": first.refresh_token})
    )
    clock.advance(seconds=11)  # past the grace window
    replay = client.post("/auth/refresh", json={"refresh_token": first.refresh_token})
    assert replay.status == 401
    assert replay.problem["code"] == "refresh_token_reused"
    # The thief's replay ended the family: the legitimate holder's token is dead too.
    stolen = client.post("/auth/refresh", json={"refresh_token": second.refresh_token})
    assert stolen.status == 401


def test_a_concurrent_refresh_within_the_grace_window_gets_an_access_token_only(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    first = accounts.signup("ann")
    winner = accounts.session(
        client.post("/auth/refresh", json={"refresh_token": first.refresh_token})
    )
    clock.advance(seconds=2)
    late = client.post("/auth/refresh", json={"refresh_token": first.refresh_token})
    assert late.status == 200
    assert late.json["refresh_token"] is None
    assert "set-cookie" not in late.headers
    assert (
        client.get(
            "/users/me", headers={"Authorization": f"Bearer {late.json['access_token']}"}
        ).status
        == 200
    )
    # The winner's token is still the family's current one.
    assert client.post("/auth/refresh", json={"refresh_token": winner.refresh_token}).status == 200


def test_a_family_expires_after_seven_idle_days(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    session = accounts.signup("ann")
    clock.advance(days=7, seconds=1)
    reply = client.post("/auth/refresh", json={"refresh_token": session.refresh_token})
    assert reply.status == 401
    assert reply.problem["code"] == "session_expired"


def test_a_family_expires_thirty_days_after_login_however_active(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    token = accounts.signup("ann").refresh_token
    for days in (6, 6, 6, 6, 5):  # used every few days: never idle for a week
        clock.advance(days=days)
        reply = client.post("/auth/refresh", json={"refresh_token": token})
        token = accounts.session(reply).refresh_token
    clock.advance(days=1)  # 30 days after login
    reply = client.post("/auth/refresh", json={"refresh_token": token})
    assert reply.status == 401
    assert reply.problem["code"] == "session_expired"


@pytest.mark.parametrize("token", ["", "made-up-token", "x" * 200])
def test_an_unknown_refresh_token_is_a_401(accounts: Accounts, client: Http, token: str) -> None:
    reply = client.post("/auth/refresh", json={"refresh_token": token})
    assert reply.status == 401


# ------------------------------------------------------------------- logout


def test_logout_revokes_the_family_and_clears_the_cookie(accounts: Accounts, client: Http) -> None:
    session = accounts.signup("ann")
    other = accounts.session(accounts.login("ann"))
    reply = client.post("/auth/logout", headers=session.headers)
    assert reply.status == 204
    assert "Max-Age=0" in reply.headers["set-cookie"]
    assert client.post("/auth/refresh", json={"refresh_token": session.refresh_token}).status == 401
    # Another device's session is untouched.
    assert client.post("/auth/refresh", json={"refresh_token": other.refresh_token}).status == 200


# ------------------------------------------------------------ access tokens


def _forge(claims: dict[str, Any], key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.mark.parametrize(
    "kind", ["expired", "tampered", "none_alg", "wrong_key", "garbage", "scheme"]
)
def test_bad_access_tokens_are_401_with_www_authenticate(
    accounts: Accounts, client: Http, svc: Clients, kind: str
) -> None:
    session = accounts.signup("ann")
    secret = svc.settings.jwt_secret.get_secret_value()
    claims = jwt.decode(session.access_token, secret, algorithms=["HS256"])
    token = session.access_token
    if kind == "expired":
        header = "Bearer " + _forge({**claims, "exp": claims["iat"] - 1800}, secret)
    elif kind == "tampered":
        payload = jwt.utils.base64url_encode(b'{"sub":"someone-else"}').decode()
        head, _, signature = token.split(".")
        header = f"Bearer {head}.{payload}.{signature}"
    elif kind == "none_alg":
        unsigned = jwt.api_jws.PyJWS(algorithms=["none"]).encode(
            json.dumps({**claims, "roles": ["admin"]}).encode(), "", algorithm="none"
        )
        header = f"Bearer {unsigned}"
    elif kind == "wrong_key":
        header = "Bearer " + _forge(claims, "k" * 64)
    elif kind == "garbage":
        header = "Bearer not.a.jwt"
    else:
        header = f"Basic {token}"
    reply = client.get("/users/me", headers={"Authorization": header})
    assert reply.status == 401
    assert reply.headers["www-authenticate"].startswith("Bearer")
    expected = "token_expired" if kind == "expired" else "invalid_token"
    assert reply.problem["code"] == expected


def _me(client: Http, session: Any) -> Reply:
    return client.get("/users/me", headers=session.headers)


def test_logout_ends_its_access_token_at_once(accounts: Accounts, client: Http) -> None:
    session = accounts.signup("ann")
    other = accounts.session(accounts.login("ann"))
    assert client.post("/auth/logout", headers=session.headers).status == 204
    ended = _me(client, session)
    assert ended.status == 401
    assert ended.problem["code"] == "token_revoked"
    assert _me(client, other).status == 200  # another device's session goes on


def test_a_replayed_refresh_token_ends_the_familys_access_tokens_at_once(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    first = accounts.signup("ann")
    second = accounts.session(
        client.post("/auth/refresh", json={"refresh_token": first.refresh_token})
    )
    clock.advance(seconds=11)
    replay = client.post("/auth/refresh", json={"refresh_token": first.refresh_token})
    assert replay.problem["code"] == "refresh_token_reused"
    assert _me(client, first).status == 401
    assert _me(client, second).status == 401


def test_an_access_token_naming_no_live_session_is_refused(
    accounts: Accounts, client: Http, svc: Clients
) -> None:
    session = accounts.signup("ann")
    secret = svc.settings.jwt_secret.get_secret_value()
    claims = jwt.decode(session.access_token, secret, algorithms=["HS256"])
    for sid in ("6a1f00000000000000000000", "anything", ""):
        forged = _forge({**claims, "sid": sid}, secret)
        reply = client.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
        assert reply.status == 401, sid
    assert _me(client, session).status == 200


def test_no_access_token_outlives_its_session(
    accounts: Accounts, client: Http, clock: FakeClock, svc: Clients
) -> None:
    token = accounts.signup("ann").refresh_token
    for days in (6, 6, 6, 6, 5):
        clock.advance(days=days)
        token = accounts.session(
            client.post("/auth/refresh", json={"refresh_token": token})
        ).refresh_token
    clock.advance(hours=23, minutes=45)  # the family's 30 days end in 15 minutes
    last = accounts.session(client.post("/auth/refresh", json={"refresh_token": token}))
    secret = svc.settings.jwt_secret.get_secret_value()
    # The test clock is 30 days ahead of PyJWT's, which would call the token immature.
    claims = jwt.decode(
        last.access_token, secret, algorithms=["HS256"], options={"verify_iat": False}
    )
    assert claims["exp"] <= (clock() + timedelta(minutes=15)).timestamp()
    clock.advance(seconds=1)  # from now on an access token would outlive the family
    reply = client.post("/auth/refresh", json={"refresh_token": last.refresh_token})
    assert reply.status == 401
    assert reply.problem["code"] == "session_expired"


def test_a_sign_in_beyond_the_live_session_limit_ends_the_oldest(
    accounts: Accounts, client: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions, "MAX_LIVE_SESSIONS", 2)
    oldest = accounts.signup("ann")
    newer = [accounts.session(accounts.login("ann")) for _ in range(2)]
    assert _me(client, oldest).status == 401
    refresh = client.post("/auth/refresh", json={"refresh_token": oldest.refresh_token})
    assert refresh.problem["code"] == "session_expired"
    assert all(_me(client, session).status == 200 for session in newer)


# ---------------------------------------------------------- password reset


def test_reset_answers_byte_identical_bodies_for_known_and_unknown_emails(
    accounts: Accounts, client: Http
) -> None:
    accounts.register("ann")
    known = client.post("/auth/password-reset", json={"email": "ann@example.com"})
    unknown = client.post("/auth/password-reset", json={"email": "nobody@example.com"})
    assert known.status == unknown.status == 202
    assert known.body == unknown.body
    assert known.headers["content-type"] == unknown.headers["content-type"]
    sent_to = [m["To"] for m in accounts.messages()]
    assert sent_to.count("ann@example.com") == 2  # verification + reset
    assert "nobody@example.com" not in sent_to


def test_reset_pads_every_answer_to_the_same_floor(
    accounts: Accounts, client: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "RESET_RESPONSE_FLOOR_SECONDS", 5.0)
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    accounts.register("ann")
    client.post("/auth/password-reset", json={"email": "ann@example.com"})
    client.post("/auth/password-reset", json={"email": "nobody@example.com"})
    assert len(slept) == 2
    assert all(4.0 < s <= 5.0 for s in slept)


@from_many_addresses
def test_reset_requests_are_limited_per_requesting_address_not_per_email(
    accounts: Accounts, client: Http
) -> None:
    accounts.register("ann")

    def ask(ip: str) -> int:
        body = {"email": "ann@example.com"}
        headers = {"X-Forwarded-For": ip}
        return client.post("/auth/password-reset", json=body, headers=headers).status

    assert [ask("198.51.100.1") for _ in range(11)] == [202] * 10 + [429]
    assert ask(OWNER_IP) == 202  # the owner's own quota is untouched


def _reset_tokens(accounts: Accounts, to: str) -> list[str]:
    """The token of every reset mail to ``to``, oldest first."""
    tokens = []
    for message in accounts.messages():
        if message["To"] == to and "Reset" in message["Subject"]:
            [text] = [
                part.get_payload(decode=True).decode()  # type: ignore[union-attr]
                for part in message.walk()
                if part.get_content_type() == "text/plain"
            ]
            match = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", text)
            assert match is not None
            tokens.append(match.group(1))
    return tokens


def test_a_reset_link_is_mailed_at_most_every_ten_minutes_and_none_cancels_another(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    accounts.register("ann")
    for _ in range(3):
        assert client.post("/auth/password-reset", json={"email": "ann@example.com"}).status == 202
    assert len(_reset_tokens(accounts, "ann@example.com")) == 1
    clock.advance(minutes=10)
    assert client.post("/auth/password-reset", json={"email": "ann@example.com"}).status == 202
    first, second = _reset_tokens(accounts, "ann@example.com")
    # A later request (maybe a stranger's) did not cancel the link the owner already has...
    confirm = {"token": first, "password": "new-harbour-42"}
    assert client.post("/auth/password-reset/confirm", json=confirm).status == 204
    # ...and using one link spends every other.
    confirm = {"token": second, "password": "other-harbour-43"}
    assert client.post("/auth/password-reset/confirm", json=confirm).status == 422


def test_a_reset_sets_the_password_and_ends_every_session(accounts: Accounts, client: Http) -> None:
    session = accounts.signup("ann")
    client.post("/auth/password-reset", json={"email": "ann@example.com"})
    token = accounts.last_token("ann@example.com")
    confirm = {"token": token, "password": "new-harbour-42"}
    assert client.post("/auth/password-reset/confirm", json=confirm).status == 204
    assert client.post("/auth/password-reset/confirm", json=confirm).status == 422  # single use
    assert client.get("/users/me", headers=session.headers).status == 401
    assert client.post("/auth/refresh", json={"refresh_token": session.refresh_token}).status == 401
    assert accounts.login("ann").status == 401
    assert accounts.login("ann", password="new-harbour-42").status == 200


def test_a_reset_link_expires_after_an_hour(
    accounts: Accounts, client: Http, clock: FakeClock
) -> None:
    accounts.register("ann")
    client.post("/auth/password-reset", json={"email": "ann@example.com"})
    token = accounts.last_token("ann@example.com")
    clock.advance(hours=1, seconds=1)
    reply = client.post(
        "/auth/password-reset/confirm", json={"token": token, "password": "new-harbour-42"}
    )
    assert reply.status == 422


def test_a_reset_refuses_a_weak_password_and_keeps_the_token(
    accounts: Accounts, client: Http
) -> None:
    accounts.register("ann")
    client.post("/auth/password-reset", json={"email": "ann@example.com"})
    token = accounts.last_token("ann@example.com")
    weak = client.post(
        "/auth/password-reset/confirm", json={"token": token, "password": "qwertyuiop"}
    )
    assert weak.status == 422
    assert weak.problem["errors"][0]["field"] == "password"
    strong = client.post(
        "/auth/password-reset/confirm", json={"token": token, "password": "new-harbour-42"}
    )
    assert strong.status == 204


# --------------------------------------------------- tokens never in plain text


def test_no_token_is_stored_in_plain_text(accounts: Accounts, client: Http, svc: Clients) -> None:
    session = accounts.signup("ann")
    client.post("/auth/password-reset", json={"email": "ann@example.com"})
    reset = accounts.last_token("ann@example.com")
    stored = str(list(svc.db.sessions.find())) + str(list(svc.db.tokens.find()))
    for secret in (session.refresh_token, reset, session.access_token, PASSWORD):
        assert secret not in stored
    assert svc.db.tokens.count_documents({"token_hash": {"$regex": "^[0-9a-f]{64}$"}}) == 2


def _user_doc(svc: Clients, username: str) -> Any:
    return svc.db.users.find_one({"username": username})


# ------------------------------------------------------------ request origin

WEB = "http://localhost:5173"  # FRONTEND_URL and CORS_ORIGINS by default


@pytest.fixture
def configured(
    serve: Callable[[Clients], Http], svc: Clients, make_settings: Callable[..., Any]
) -> Callable[..., Http]:
    """``configured(NAME=value)``: a client for the same data, served with those settings."""

    def make(**env: str) -> Http:
        settings = make_settings({"MONGODB_DB": svc.settings.mongodb_db, **env})
        return serve(
            Clients(
                settings,
                mongo_client=svc.mongo_client,
                password_hasher=svc.password_hasher,
                clock=svc.clock,
            )
        )

    return make


def _refresh_with_cookie(client: Http, token: str, headers: dict[str, str]) -> Reply:
    # The body a cross-site form can send without a preflight: empty text/plain.
    return client.post(
        "/auth/refresh",
        body="",
        headers={"Cookie": f"refresh_token={token}", "Content-Type": "text/plain", **headers},
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:5174"},
        {"Origin": "http://localhost.evil.example:5173"},
        {"Origin": "https://localhost:5173"},
        {"Origin": WEB, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
    ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()),
)
def test_a_foreign_page_cannot_use_the_refresh_cookie(
    accounts: Accounts, client: Http, headers: dict[str, str]
) -> None:
    session = accounts.signup("ann")
    reply = _refresh_with_cookie(client, session.refresh_token, headers)
    assert reply.status == 403
    assert reply.problem["code"] == "foreign_origin"
    assert "set-cookie" not in reply.headers
    # Nothing rotated: the cookie is still the family's current token.
    assert _refresh_with_cookie(client, session.refresh_token, {"Origin": WEB}).status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": WEB, "Sec-Fetch-Site": "same-origin"},
        {"Origin": "HTTP://LOCALHOST:5173"},
        # make run / Vercel: CORS_ORIGINS lists the web app; previews match a pattern.
        {"Origin": "https://snapboard-git-x-acme.vercel.app"},
        # The API's own pages (/docs): the origin the request was sent to.
        {"Origin": "https://api.snapboard.example", "Host": "api.snapboard.example",
         "X-Forwarded-Proto": "https"},
        {"Origin": "http://127.0.0.1:8000", "Host": "127.0.0.1:8000"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {},  # curl, a native app: no browser, no cross-site request to forge
    ],
    ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()) or "no-headers",
)  # fmt: skip
def test_our_own_pages_and_non_browser_clients_use_the_refresh_cookie(
    accounts: Accounts, configured: Callable[..., Http], headers: dict[str, str]
) -> None:
    client = configured(CORS_ORIGINS=f"{WEB},https://snapboard-*-acme.vercel.app")
    session = accounts.signup("ann")
    reply = _refresh_with_cookie(client, session.refresh_token, headers)
    assert reply.status == 200, reply.body
    assert reply.cookie("refresh_token") is not None


def test_the_web_apps_origin_counts_as_ours_even_when_cors_does_not_list_it(
    accounts: Accounts, configured: Callable[..., Http]
) -> None:
    client = configured(
        FRONTEND_URL="https://snapboard.example.com", CORS_ORIGINS="https://other.example"
    )
    session = accounts.signup("ann")
    ours = _refresh_with_cookie(
        client, session.refresh_token, {"Origin": "https://snapboard.example.com"}
    )
    assert ours.status == 200
    theirs = _refresh_with_cookie(client, session.refresh_token, {"Origin": WEB})
    assert theirs.status == 403


def test_a_foreign_page_is_refused_even_with_the_token_in_the_body(
    accounts: Accounts, client: Http
) -> None:
    session = accounts.signup("ann")
    reply = client.post(
        "/auth/refresh",
        json={"refresh_token": session.refresh_token},
        headers={"Origin": "https://evil.example"},
    )
    assert reply.status == 403  # the answer would set the cookie in the visitor's browser
    assert client.post("/auth/refresh", json={"refresh_token": session.refresh_token}).status == 200


@pytest.mark.parametrize("path", ["/auth/login", "/auth/password-reset/confirm"])
def test_a_foreign_page_cannot_sign_in_or_reset_through_the_visitors_browser(
    accounts: Accounts, client: Http, path: str
) -> None:
    accounts.register("ann")
    client.post("/auth/password-reset", json={"email": "ann@example.com"})
    body = (
        {"email": "ann@example.com", "password": PASSWORD}
        if path == "/auth/login"
        else {"token": accounts.last_token("ann@example.com"), "password": "new-harbour-42"}
    )
    foreign = client.post(path, json=body, headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
    assert foreign.problem["code"] == "foreign_origin"
    assert "set-cookie" not in foreign.headers
    assert client.post(path, json=body, headers={"Origin": WEB}).status in (200, 204)
