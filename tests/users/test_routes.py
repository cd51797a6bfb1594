"""Profiles, password change and the administration of accounts, through HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.composition import Clients
from tests.accounts import PASSWORD, Accounts, Session
from tests.support import Http


@pytest.fixture
def people(accounts: Accounts) -> dict[str, Session]:
    return {
        "user": accounts.signup("ann"),
        "other": accounts.signup("bob"),
        "admin": accounts.signup("ada", admin=True),
    }


# Each auth, user and admin route x who calls it. "user" acts on their own
# account; "other" is a second ordinary user acting on ann's.
MATRIX = [
    # method, path, body, anonymous, user, other, admin
    ("GET", "/users/me", None, 401, 200, 200, 200),
    ("PATCH", "/users/me", {"bio": "hi"}, 401, 200, 200, 200),
    (
        "POST",
        "/users/me/password",
        {"current_password": PASSWORD, "new_password": "new-harbour-42"},
        401,
        204,
        204,
        204,
    ),
    ("GET", "/users/ann", None, 200, 200, 200, 200),
    ("POST", "/auth/logout", None, 401, 204, 204, 204),
    ("POST", "/auth/verify-email/resend", None, 401, 204, 204, 204),
    ("GET", "/admin/users", None, 401, 403, 403, 200),
    ("PATCH", "/admin/users/{ann}", {"roles": ["user"]}, 401, 403, 403, 200),
]


@pytest.mark.parametrize(("method", "path", "body", "anonymous", "user", "other", "admin"), MATRIX)
def test_authorization_matrix(
    client: Http,
    people: dict[str, Session],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    anonymous: int,
    user: int,
    other: int,
    admin: int,
) -> None:
    path = path.replace("{ann}", people["user"].user["id"])
    for who, expected in (
        ("anonymous", anonymous),
        ("user", user),
        ("other", other),
        ("admin", admin),
    ):
        headers = {} if who == "anonymous" else people[who].headers
        reply = client.request(method, path, json=body, headers=headers)
        assert reply.status == expected, (who, method, path, reply.body)


def test_me_returns_the_private_account(client: Http, people: dict[str, Session]) -> None:
    me = client.get("/users/me", headers=people["user"].headers).json
    assert me["email"] == "ann@example.com"
    assert me["username"] == "ann"
    assert "password_hash" not in me


def test_a_profile_update_changes_only_the_given_fields(
    client: Http, people: dict[str, Session]
) -> None:
    headers = people["user"].headers
    reply = client.patch("/users/me", json={"display_name": " Ann S. "}, headers=headers)
    assert reply.json["display_name"] == "Ann S."
    reply = client.patch("/users/me", json={"bio": "Photos of harbours."}, headers=headers)
    assert reply.json["display_name"] == "Ann S."
    assert reply.json["bio"] == "Photos of harbours."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "Ana María ✈️"),
        ("display_name", "\u05e9\u05dc\u05d5\u05dd"),
        ("display_name", "👩\u200d👩\u200d👧 family"),
        ("bio", "Harbours.\n\nAnd boats,\tmostly."),
    ],
)
def test_a_profile_update_keeps_any_visible_text(
    client: Http, people: dict[str, Session], field: str, value: str
) -> None:
    reply = client.patch("/users/me", json={field: value}, headers=people["user"].headers)
    assert reply.status == 200, reply.body
    assert reply.json[field] == value


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": "x" * 51}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "Ann\r\nX-Injected: yes"}, "display_name"),
        ({"display_name": "Ann\nS."}, "display_name"),
        ({"display_name": "Ann\u0000"}, "display_name"),
        ({"display_name": "Ann\tS."}, "display_name"),
        ({"display_name": "\u202enaa"}, "display_name"),
        ({"display_name": "Ann\u2028S."}, "display_name"),
        ({"bio": "x" * 501}, "bio"),
        ({"bio": "Harbours\u0000"}, "bio"),
        ({"bio": "\u001b[31mred"}, "bio"),
        ({"email": "new@example.com"}, "email"),
        ({"roles": ["admin"]}, "roles"),
        ({"bio": {"$set": "x"}}, "bio"),
    ],
)
def test_a_profile_update_refuses_bad_and_forbidden_fields(
    client: Http, people: dict[str, Session], body: dict[str, Any], field: str
) -> None:
    reply = client.patch("/users/me", json=body, headers=people["user"].headers)
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == field


def test_the_public_profile_shows_no_email_or_internal_fields(
    client: Http, people: dict[str, Session]
) -> None:
    profile = client.get("/users/ANN").json
    assert set(profile) == {"id", "username", "display_name", "bio", "avatar", "created_at"}
    assert client.get("/users/nobody").status == 404


def test_a_password_change_needs_the_current_password(
    client: Http, people: dict[str, Session]
) -> None:
    reply = client.post(
        "/users/me/password",
        json={"current_password": "wrong-password-1", "new_password": "new-harbour-42"},
        headers=people["user"].headers,
    )
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == "current_password"


def test_a_password_change_refuses_a_weak_password(
    client: Http, people: dict[str, Session]
) -> None:
    reply = client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": "ann"},
        headers=people["user"].headers,
    )
    assert reply.status == 422
    assert {e["field"] for e in reply.problem["errors"]} == {"new_password"}


def test_a_password_change_revokes_the_other_sessions_only(
    accounts: Accounts, client: Http, people: dict[str, Session]
) -> None:
    here = people["user"]
    elsewhere = accounts.session(accounts.login("ann"))
    reply = client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": "new-harbour-42"},
        headers=here.headers,
    )
    assert reply.status == 204
    # The other session's access token dies at once, not when it expires.
    ended = client.get("/users/me", headers=elsewhere.headers)
    assert ended.status == 401
    assert ended.problem["code"] == "token_revoked"
    assert client.get("/users/me", headers=here.headers).status == 200
    assert (
        client.post("/auth/refresh", json={"refresh_token": elsewhere.refresh_token}).status == 401
    )
    assert client.post("/auth/refresh", json={"refresh_token": here.refresh_token}).status == 200
    assert accounts.login("ann", password="new-harbour-42").status == 200


# -------------------------------------------------------------------- admin


def test_admins_list_users_newest_first_a_page_at_a_time(
    accounts: Accounts, client: Http, people: dict[str, Session], svc: Clients
) -> None:
    admin = people["admin"].headers
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = "/admin/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=admin).json
        seen += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["ada", "bob", "ann"]


def test_a_bad_cursor_is_a_422(client: Http, people: dict[str, Session]) -> None:
    reply = client.get("/admin/users?cursor=!!!", headers=people["admin"].headers)
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == "cursor"


def test_disabling_a_user_ends_their_sessions_and_enabling_restores_login(
    accounts: Accounts, client: Http, people: dict[str, Session]
) -> None:
    ann = people["user"]
    target = f"/admin/users/{ann.user['id']}"
    reply = client.patch(target, json={"disabled": True}, headers=people["admin"].headers)
    assert reply.status == 200
    assert reply.json["disabled"] is True
    assert client.get("/users/me", headers=ann.headers).status == 401
    assert client.post("/auth/refresh", json={"refresh_token": ann.refresh_token}).status == 401
    assert accounts.login("ann").status == 403
    client.patch(target, json={"disabled": False}, headers=people["admin"].headers)
    assert accounts.login("ann").status == 200


def test_promoting_a_user_takes_effect_on_their_next_request(
    client: Http, people: dict[str, Session]
) -> None:
    bob = people["other"]
    assert client.get("/admin/users", headers=bob.headers).status == 403
    client.patch(
        f"/admin/users/{bob.user['id']}", json={"roles": ["admin"]}, headers=people["admin"].headers
    )
    assert client.get("/admin/users", headers=bob.headers).status == 200


def test_an_admin_cannot_disable_or_demote_themselves(
    client: Http, people: dict[str, Session]
) -> None:
    ada = people["admin"]
    path = f"/admin/users/{ada.user['id']}"
    for body in ({"disabled": True}, {"roles": ["user"]}):
        reply = client.patch(path, json=body, headers=ada.headers)
        assert reply.status == 409
        assert reply.problem["code"] == "cannot_change_self"


@pytest.mark.parametrize("user_id", ["nope", "0" * 24])
def test_patching_an_unknown_user_is_a_404(
    client: Http, people: dict[str, Session], user_id: str
) -> None:
    reply = client.patch(
        f"/admin/users/{user_id}", json={"disabled": True}, headers=people["admin"].headers
    )
    assert reply.status == 404


def test_make_admin_promotes_an_existing_user(
    accounts: Accounts, client: Http, svc: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib import manage

    bob = accounts.signup("bob")
    assert manage.main(["admin", "--email", "BOB@example.com"], clients=svc) == 0
    assert "bob is now an administrator" in capsys.readouterr().out
    assert client.get("/admin/users", headers=bob.headers).status == 200
    assert manage.main(["admin", "--email", "nobody@example.com"], clients=svc) == 1
