"""MongoDB outages, over pymongo's real network path: every route answers 503, nothing half-done.

The app talks to a scripted wire-protocol server (tests/mongowire.py) through
the ``MongoClient`` the composition root builds from ``MONGODB_URI``; the
server refuses, drops, stalls or rejects commands, and the driver and the app
react as they would to Atlas. Retry policy under test: pymongo's retryable
reads and writes (on by default, and in every Atlas URI) retry one failed read
or single-document write once; anything that still fails is a 503 with
``Retry-After``, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib import composition
from chalicelib.composition import Clients
from chalicelib.settings import Settings
from tests.accounts import Accounts, Session
from tests.images.conftest import make_image
from tests.mongowire import (
    LOST_REPLY,
    SILENCE,
    WRITE_CONCERN_ERROR,
    ScriptedMongo,
    host_unreachable,
    not_primary,
)
from tests.support import FakeClock, Http, Reply, free_port


def assert_unavailable(reply: Reply, code: str = "database_unavailable") -> None:
    assert reply.status == 503, reply.body
    problem = reply.problem
    assert problem["code"] == code
    assert int(reply.headers["retry-after"]) > 0
    assert "127.0.0.1" not in problem["detail"]


def upload(client: Http, session: Session) -> Reply:
    return client.post(
        "/images", body=make_image(), headers={**session.headers, "Content-Type": "image/jpeg"}
    )


def upload_id(client: Http, session: Session) -> str:
    reply = upload(client, session)
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


@pytest.fixture
def ann(accounts: Accounts) -> Session:
    return accounts.signup("ann")


def image_states(stored: Any) -> dict[str, tuple[str, str | None]]:
    return {str(doc["_id"]): (doc["status"], doc["post_id"]) for doc in stored.images.find()}


# ----------------------------------------------------- MongoDB unreachable


def test_with_mongodb_unreachable_the_feed_and_profiles_are_503_not_500(
    serve: Callable[[Clients], Http], make_settings: Callable[..., Settings]
) -> None:
    # Nothing listens on the port: every connection is refused, as when Atlas is cut off.
    uri = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=300"
    unreachable = Clients(make_settings({"MONGODB_URI": uri}))
    try:
        client = serve(unreachable)
        for path in ("/posts", "/users/ann", "/posts/6b0ead9b8bc0cae3d70c14b2"):
            assert_unavailable(client.get(path))
        assert_unavailable(client.get("/ready"), code="not_ready")
        assert client.get("/health").status == 200  # the process itself is alive
    finally:
        unreachable.mongo_client.close()


# (method, path template, body): one or more routes of every family, anonymous or signed in.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/auth/register", {"email": "bo@example.com", "username": "bo", "password": "x" * 12}),
    ("POST", "/auth/login", {"email": "ann@example.com", "password": "violet-harbour-71"}),
    ("POST", "/auth/refresh", {"refresh_token": "{refresh}"}),
    ("POST", "/auth/password-reset", {"email": "ann@example.com"}),
    ("POST", "/auth/verify-email", {"token": "x" * 43}),
    ("GET", "/users/me", None),
    ("PATCH", "/users/me", {"display_name": "Ann B."}),
    ("GET", "/users/ann", None),
    ("GET", "/posts", None),
    ("GET", "/posts/{post}", None),
    ("POST", "/posts", {"title": "While down"}),
    ("PATCH", "/posts/{post}", {"title": "Renamed"}),
    ("DELETE", "/posts/{post}", None),
    ("GET", "/images/{image}", None),
    ("DELETE", "/images/{image}", None),
    ("PUT", "/users/me/avatar", {"image_id": "{image}"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_family_is_a_503_with_retry_after_while_mongodb_is_down(
    client: Http,
    ann: Session,
    mongo: ScriptedMongo,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    image = upload_id(client, ann)
    post = client.post("/posts", json={"title": "Up"}, headers=ann.headers).json["id"]
    names = {"post": post, "image": image, "refresh": ann.refresh_token}
    sent = None
    if body is not None:
        sent = {key: value.format(**names) for key, value in body.items()}
    with mongo.down():
        reply = client.request(method, path.format(**names), json=sent, headers=ann.headers)
    assert_unavailable(reply)


def test_an_upload_while_mongodb_is_down_is_a_503_and_leaves_no_file(
    client: Http, ann: Session, mongo: ScriptedMongo, settings: Settings
) -> None:
    with mongo.down():
        assert_unavailable(upload(client, ann))
    media = Path(settings.data_dir) / "media"
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


# ------------------------------------------------------------ retry policy


def test_a_read_whose_connection_drops_once_is_retried_and_answers(
    client: Http, ann: Session, mongo: ScriptedMongo
) -> None:
    client.post("/posts", json={"title": "Still here"}, headers=ann.headers)
    before = mongo.sent("find", "posts")
    mongo.fail("find", "posts")
    reply = client.get("/posts")
    assert reply.status == 200
    assert [item["title"] for item in reply.json["items"]] == ["Still here"]
    assert mongo.sent("find", "posts") == before + 2  # the dropped one and its retry


def test_a_read_that_fails_again_on_its_retry_is_a_503(
    client: Http, ann: Session, mongo: ScriptedMongo
) -> None:
    mongo.fail("find", "posts", times=2)
    assert_unavailable(client.get("/posts"))


def test_a_read_the_server_never_answers_times_out_as_a_503(
    client: Http, ann: Session, mongo: ScriptedMongo
) -> None:
    mongo.fail("find", "users", answer=SILENCE, times=2)
    assert_unavailable(client.get("/users/ann"))


def test_a_host_unreachable_answer_is_retried_then_a_503(
    client: Http, ann: Session, mongo: ScriptedMongo
) -> None:
    mongo.fail("find", "users", answer=host_unreachable(), times=2)
    assert_unavailable(client.get("/users/ann"))
    assert client.get("/users/ann").status == 200  # the server is back: so is the answer


def test_a_write_refused_by_a_stepped_down_primary_is_retried_and_lands_once(
    client: Http, ann: Session, mongo: ScriptedMongo, stored: Any
) -> None:
    mongo.fail("insert", "posts", answer=not_primary())
    reply = client.post("/posts", json={"title": "Election"}, headers=ann.headers)
    assert reply.status == 201, reply.body
    assert mongo.sent("insert", "posts") == 2
    assert stored.posts.count_documents({}) == 1


def test_a_write_refused_twice_is_a_503_and_nothing_is_written(
    client: Http, ann: Session, mongo: ScriptedMongo, stored: Any
) -> None:
    mongo.fail("insert", "posts", answer=not_primary(), times=2)
    assert_unavailable(client.post("/posts", json={"title": "No"}, headers=ann.headers))
    assert stored.posts.count_documents({}) == 0


def test_a_write_concern_error_is_a_503(client: Http, ann: Session, mongo: ScriptedMongo) -> None:
    mongo.fail("findAndModify", "users", answer=WRITE_CONCERN_ERROR)
    reply = client.patch("/users/me", json={"display_name": "Ann B."}, headers=ann.headers)
    assert_unavailable(reply)


def test_a_database_bug_is_still_a_500_not_an_outage(
    client: Http, ann: Session, mongo: ScriptedMongo
) -> None:
    mongo.fail("find", "posts", answer={"ok": 0, "code": 2, "errmsg": "BadValue"})
    reply = client.get("/posts")
    assert reply.status == 500
    assert reply.problem["code"] == "internal"


# ----------------------------------------------- half-way failures compensated


@pytest.mark.parametrize("answer", [LOST_REPLY, not_primary()], ids=["lost reply", "refused"])
def test_an_upload_whose_database_write_fails_deletes_the_stored_file(
    client: Http, ann: Session, mongo: ScriptedMongo, settings: Settings, stored: Any, answer: Any
) -> None:
    mongo.fail("insert", "images", answer=answer, times=2)
    assert_unavailable(upload(client, ann))
    media = Path(settings.data_dir) / "media"
    assert [p for p in media.rglob("*") if p.is_file()] == []
    # A write that landed unconfirmed stays a pending record the sweep expires, never a file.
    assert all(doc["status"] == "pending" for doc in stored.images.find())


def test_an_upload_whose_database_write_fails_once_is_retried_and_recorded(
    client: Http, ann: Session, mongo: ScriptedMongo, stored: Any
) -> None:
    mongo.fail("insert", "images")
    assert upload(client, ann).status == 201
    assert stored.images.count_documents({}) == 1


@pytest.mark.parametrize("answer", [LOST_REPLY, SILENCE], ids=["lost reply", "no answer"])
def test_a_gallery_attach_that_fails_leaves_nothing_half_attached(
    client: Http, ann: Session, mongo: ScriptedMongo, stored: Any, answer: str
) -> None:
    images = [upload_id(client, ann), upload_id(client, ann)]
    # The attach is a multi-document update: the driver never retries it.
    mongo.fail("update", "images", answer=answer)
    reply = client.post(
        "/posts", json={"title": "Gallery", "image_ids": images}, headers=ann.headers
    )
    assert_unavailable(reply)
    assert stored.posts.count_documents({}) == 0
    assert image_states(stored) == dict.fromkeys(images, ("pending", None))
    again = client.post(
        "/posts", json={"title": "Gallery", "image_ids": images}, headers=ann.headers
    )
    assert again.status == 201, again.body


def test_an_attach_whose_undo_fails_too_is_given_back_by_the_sweep(
    client: Http, ann: Session, mongo: ScriptedMongo, stored: Any, svc: Clients, clock: FakeClock
) -> None:
    images = [upload_id(client, ann), upload_id(client, ann)]
    mongo.fail("update", "images", answer=LOST_REPLY)  # the attach lands, unconfirmed
    mongo.fail("update", "images")  # and its undo is cut off
    reply = client.post(
        "/posts", json={"title": "Gallery", "image_ids": images}, headers=ann.headers
    )
    assert_unavailable(reply)
    assert stored.posts.count_documents({}) == 0
    assert {status for status, _ in image_states(stored).values()} == {"attached"}
    clock.advance(minutes=10)
    assert composition.sweep(svc).endswith("returned 2")
    assert image_states(stored) == dict.fromkeys(images, ("pending", None))
    again = client.post(
        "/posts", json={"title": "Gallery", "image_ids": images}, headers=ann.headers
    )
    assert again.status == 201, again.body


def test_the_sweep_leaves_a_written_posts_images_attached(
    client: Http, ann: Session, stored: Any, svc: Clients, clock: FakeClock
) -> None:
    images = [upload_id(client, ann)]
    post = client.post("/posts", json={"title": "Kept", "image_ids": images}, headers=ann.headers)
    clock.advance(minutes=10)
    assert composition.sweep(svc).endswith("returned 0")
    assert image_states(stored) == dict.fromkeys(images, ("attached", post.json["id"]))


def test_a_post_whose_write_fails_after_the_attach_gives_its_images_back(
    client: Http, ann: Session, mongo: ScriptedMongo, stored: Any
) -> None:
    images = [upload_id(client, ann), upload_id(client, ann)]
    mongo.fail("insert", "posts", times=2)
    reply = client.post(
        "/posts", json={"title": "Gallery", "image_ids": images}, headers=ann.headers
    )
    assert_unavailable(reply)
    assert stored.posts.count_documents({}) == 0
    assert image_states(stored) == dict.fromkeys(images, ("pending", None))


def test_an_edit_whose_write_fails_gives_back_the_images_it_added(
    client: Http, ann: Session, mongo: ScriptedMongo, stored: Any
) -> None:
    kept = upload_id(client, ann)
    post = client.post("/posts", json={"title": "One", "image_ids": [kept]}, headers=ann.headers)
    added = upload_id(client, ann)
    mongo.fail("findAndModify", "posts", times=2)
    reply = client.patch(
        f"/posts/{post.json['id']}", json={"image_ids": [kept, added]}, headers=ann.headers
    )
    assert_unavailable(reply)
    assert image_states(stored) == {kept: ("attached", post.json["id"]), added: ("pending", None)}


def test_an_avatar_whose_profile_write_fails_stays_an_unused_upload(
    client: Http, ann: Session, mongo: ScriptedMongo, stored: Any
) -> None:
    image = upload_id(client, ann)
    mongo.fail("findAndModify", "users", times=2)
    reply = client.put("/users/me/avatar", json={"image_id": image}, headers=ann.headers)
    assert_unavailable(reply)
    (doc,) = stored.images.find()
    assert (doc["status"], doc["avatar_of"]) == ("pending", None)
    assert stored.users.find_one({"username": "ann"}).get("avatar_image_id") is None


def test_a_duplicate_key_over_the_wire_is_a_conflict_not_an_outage(
    client: Http, ann: Session, accounts: Accounts
) -> None:
    reply = accounts.register("ann")
    assert reply.status == 409
    assert reply.problem["code"] == "username_taken"
