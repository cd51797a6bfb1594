"""Avatars on accounts and profiles: every answer that carries a user carries its avatar."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.composition import Clients
from tests.accounts import Accounts, Session
from tests.images.conftest import make_image
from tests.querycount import Counter
from tests.support import Http

SIZES = {"small", "medium", "large"}


def set_avatar(client: Http, session: Session) -> dict[str, str]:
    """Upload an image and make it ``session``'s avatar; the avatar URLs PUT answered."""
    reply = client.post(
        "/images", body=make_image(), headers={**session.headers, "Content-Type": "image/jpeg"}
    )
    assert reply.status == 201, reply.body
    reply = client.put(
        "/users/me/avatar", json={"image_id": reply.json["id"]}, headers=session.headers
    )
    assert reply.status == 200, reply.body
    urls: dict[str, str] = reply.json["urls"]
    return urls


def everywhere(client: Http, accounts: Accounts, who: Session, admin: Session) -> dict[str, Any]:
    """The avatar in each answer that describes ``who``."""
    name = who.user["username"]
    login = accounts.session(accounts.login(name))
    refreshed = client.post("/auth/refresh", json={"refresh_token": login.refresh_token})
    listed = client.get("/admin/users?limit=100", headers=admin.headers).json["items"]
    admin_patch = client.patch(
        f"/admin/users/{who.user['id']}", json={"disabled": False}, headers=admin.headers
    )
    return {
        "GET /users/me": client.get("/users/me", headers=who.headers).json["avatar"],
        "PATCH /users/me": client.patch("/users/me", json={}, headers=who.headers).json["avatar"],
        "GET /users/{username}": client.get(f"/users/{name}").json["avatar"],
        "POST /auth/login": login.user["avatar"],
        "POST /auth/refresh": refreshed.json["user"]["avatar"],
        "GET /admin/users": next(u["avatar"] for u in listed if u["username"] == name),
        "PATCH /admin/users/{id}": admin_patch.json["avatar"],
    }


@pytest.fixture
def ann(accounts: Accounts) -> Session:
    return accounts.signup("ann")


@pytest.fixture
def ada(accounts: Accounts) -> Session:
    return accounts.signup("ada", admin=True)


def test_a_new_account_has_no_avatar(accounts: Accounts, client: Http) -> None:
    reply = accounts.register("cat")
    assert reply.status == 201
    assert reply.json["user"]["avatar"] is None


def test_without_an_avatar_every_answer_says_null(
    client: Http, accounts: Accounts, ann: Session, ada: Session
) -> None:
    seen = everywhere(client, accounts, ann, ada)
    assert seen == dict.fromkeys(seen)


def test_a_set_avatar_shows_in_every_answer_about_the_user(
    client: Http, accounts: Accounts, ann: Session, ada: Session
) -> None:
    urls = set_avatar(client, ann)
    assert set(urls) == SIZES
    assert all(url.startswith(("http://", "https://")) for url in urls.values())
    seen = everywhere(client, accounts, ann, ada)
    assert seen == dict.fromkeys(seen, urls)


def test_a_profile_shows_the_avatar_its_posts_show(client: Http, ann: Session) -> None:
    urls = set_avatar(client, ann)
    assert client.post("/posts", json={"title": "Harbour"}, headers=ann.headers).status == 201
    author = client.get("/posts?author=ann").json["items"][0]["author"]
    assert author["avatar"] == client.get("/users/ann").json["avatar"] == urls


def test_a_replaced_avatar_shows_the_new_image(client: Http, ann: Session) -> None:
    first = set_avatar(client, ann)
    second = set_avatar(client, ann)
    assert second != first
    assert client.get("/users/me", headers=ann.headers).json["avatar"] == second
    assert client.get("/users/ann").json["avatar"] == second


def test_a_cleared_avatar_is_null_again_in_every_answer(
    client: Http, accounts: Accounts, ann: Session, ada: Session
) -> None:
    set_avatar(client, ann)
    assert client.delete("/users/me/avatar", headers=ann.headers).status == 204
    seen = everywhere(client, accounts, ann, ada)
    assert seen == dict.fromkeys(seen)


def test_an_avatar_whose_image_is_gone_is_null_not_an_error(
    client: Http, ann: Session, db: Any
) -> None:
    set_avatar(client, ann)
    db.images.update_many({}, {"$set": {"status": "deleted"}})
    assert client.get("/users/ann").json["avatar"] is None
    assert client.get("/users/me", headers=ann.headers).json["avatar"] is None


def test_the_documented_profiles_carry_the_avatar(client: Http) -> None:
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    for name in ("UserPublic", "UserPrivate"):
        avatar = schemas[name]["properties"]["avatar"]
        assert {"$ref": "#/components/schemas/AvatarUrls"} in avatar["anyOf"], name
        assert {"type": "null"} in avatar["anyOf"], name
        assert "avatar" in schemas[name]["required"], name


# ------------------------------------------------------------- query counts


@pytest.fixture
def svc(counting_svc: Clients) -> Clients:
    """The app of this module's tests counts every database operation it makes."""
    return counting_svc


@pytest.mark.parametrize("limit", [1, 3, 5])
def test_a_page_of_users_fetches_every_avatar_in_one_query(
    client: Http, accounts: Accounts, counted: Counter, ada: Session, limit: int
) -> None:
    # Four more sign-ups: with ada's, what one address may register in an hour.
    for name in ("ann", "bob", "cat", "dan"):
        set_avatar(client, accounts.signup(name))
    counted.reset()
    reply = client.get(f"/admin/users?limit={limit}", headers=ada.headers)
    assert reply.status == 200
    items = reply.json["items"]
    assert len(items) == limit
    assert sum(item["avatar"] is not None for item in items) == min(limit, 4)
    # The read that authenticates the admin, the page of users, and their avatars.
    assert counted.calls == [("users", "find_one"), ("users", "find"), ("images", "find")]


def test_a_page_of_users_without_avatars_asks_nothing_of_images(
    client: Http, accounts: Accounts, counted: Counter, ada: Session
) -> None:
    accounts.signup("ann")
    counted.reset()
    reply = client.get("/admin/users", headers=ada.headers)
    assert [item["avatar"] for item in reply.json["items"]] == [None, None]
    assert counted.calls == [("users", "find_one"), ("users", "find")]
