"""Compensation in posts/service.py: a post whose write fails leaves no image attached to it.

MongoDB's stand-in has no transactions, so a post's images are attached first
and given back when the post's own write does not happen. The database here
misbehaves through a wrapper (tests/querycount.py); the code under test is real.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from chalicelib.composition import Clients
from tests.accounts import Session
from tests.querycount import Counter
from tests.support import Http

Upload = Callable[[Session], str]
Publish = Callable[..., dict[str, Any]]


@pytest.fixture
def svc(counting_svc: Clients) -> Clients:
    """This module's database can be made to fail or race (``counted.before``)."""
    return counting_svc


def primary_stepped_down(*_: Any, **__: Any) -> None:
    raise AutoReconnect("the primary stepped down")


def image_states(svc: Clients) -> dict[str, tuple[str, str | None]]:
    return {str(doc["_id"]): (doc["status"], doc["post_id"]) for doc in svc.db.images.find()}


def test_a_post_whose_write_fails_gives_its_images_back(
    client: Http, ann: Session, upload: Upload, publish: Publish, counted: Counter, svc: Clients
) -> None:
    images = [upload(ann), upload(ann)]
    counted.before("posts", "insert_one", primary_stepped_down)
    reply = client.post("/posts", json={"title": "Lost", "image_ids": images}, headers=ann.headers)
    assert reply.status >= 500  # how a database failure is answered is not this test's concern
    assert svc.db.posts.count_documents({}) == 0
    assert image_states(svc) == dict.fromkeys(images, ("pending", None))
    # The database is back: the same uploads go into a post, as if nothing had happened.
    counted.before("posts", "insert_one", None)
    post = publish(ann, image_ids=images)
    assert [image["id"] for image in post["images"]] == images


def test_a_post_without_images_whose_write_fails_is_simply_an_error(
    client: Http, ann: Session, counted: Counter, svc: Clients
) -> None:
    counted.before("posts", "insert_one", primary_stepped_down)
    reply = client.post("/posts", json={"title": "Lost"}, headers=ann.headers)
    assert reply.status >= 500  # how a database failure is answered is not this test's concern
    assert svc.db.posts.count_documents({}) == 0


def test_an_edit_that_loses_the_race_gives_back_the_images_it_added(
    client: Http, ann: Session, upload: Upload, publish: Publish, counted: Counter, svc: Clients
) -> None:
    kept = upload(ann)
    post = publish(ann, image_ids=[kept])
    added = upload(ann)

    def another_edit_lands_first(posts: Any, query: dict[str, Any], *_: Any, **__: Any) -> None:
        posts.update_one({"_id": query["_id"]}, {"$inc": {"version": 1}})

    counted.before("posts", "find_one_and_update", another_edit_lands_first)
    reply = client.patch(
        f"/posts/{post['id']}", json={"image_ids": [kept, added]}, headers=ann.headers
    )
    assert reply.status == 412
    assert reply.problem["code"] == "stale_etag"
    assert image_states(svc) == {kept: ("attached", post["id"]), added: ("pending", None)}
