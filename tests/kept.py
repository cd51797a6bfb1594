"""What a person leaves on `make run` or `make serve`, and checks is there after a restart."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

from chalicelib import demo
from chalicelib.composition import Clients
from chalicelib.settings import Settings
from tests.accounts import PASSWORD, Accounts, Session
from tests.support import Http, loopback_transport


@dataclass
class Left:
    """What a person left behind on the server: an account, a session, a post with a photo."""

    session: Session
    post_id: str
    image_url: str
    public_posts: int


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "#336699").save(buffer, format="PNG")
    return buffer.getvalue()


def accounts(base: str, data_dir: Path) -> Accounts:
    # The outbox is read from DATA_DIR; nothing else of these clients is built.
    return Accounts(
        Http(loopback_transport(base)), Clients(Settings.from_env({"DATA_DIR": str(data_dir)}))
    )


def leave_something(base: str, data_dir: Path) -> Left:
    people = accounts(base, data_dir)
    session = people.signup("zoe")
    client = people.client
    image = client.post(
        "/images", body=_png(), headers={"Content-Type": "image/png", **session.headers}
    )
    assert image.status == 201, image.body
    post = client.post(
        "/posts",
        json={
            "title": "Kept",
            "body": "across restarts",
            "tags": [],
            "image_ids": [image.json["id"]],
        },
        headers=session.headers,
    )
    assert post.status == 201, post.body
    return Left(session, post.json["id"], post.json["images"][0]["url"], _public_posts(client))


def assert_still_there(base: str, data_dir: Path, left: Left) -> Left:
    """Everything ``left`` names still works; returns it with the session's rotated tokens."""
    people = accounts(base, data_dir)
    client = people.client
    assert people.login("zoe", password=PASSWORD).status == 200
    # The access token from before still verifies: the dev JWT key was kept.
    assert client.get("/users/me", headers=left.session.headers).json["username"] == "zoe"
    refreshed = client.post("/auth/refresh", json={"refresh_token": left.session.refresh_token})
    assert refreshed.status == 200, refreshed.body
    assert client.get(f"/posts/{left.post_id}").json["title"] == "Kept"
    # By its path and signature: a restarted server may listen on another port.
    url = urlsplit(left.image_url)
    image = client.get(f"{url.path}?{url.query}", headers={"Accept": "image/*"})
    assert (image.status, image.headers["content-type"]) == (200, "image/png"), image.body[:300]
    # The demo data set was not loaded a second time.
    assert _public_posts(client) == left.public_posts
    demo_login = client.post(
        "/auth/login", json={"email": "ann@demo.snapboard.test", "password": demo.DEMO_PASSWORD}
    )
    assert demo_login.status == 200
    body = refreshed.json
    return Left(
        Session(left.session.user, body["access_token"], body["refresh_token"]),
        left.post_id,
        left.image_url,
        left.public_posts,
    )


def _public_posts(client: Http) -> int:
    reply = client.get("/posts?limit=100")
    assert reply.status == 200
    assert reply.json["next_cursor"] is None
    return len(reply.json["items"])
