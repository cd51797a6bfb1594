"""The demo data set `make run` loads: believable, in the past, fully attached."""

from __future__ import annotations

import pytest

from chalicelib import demo, errors
from chalicelib.composition import Clients, seed_demo
from chalicelib.settings import Settings
from tests.support import FakeClock


def test_the_demo_set_is_people_posts_and_attached_photos_all_in_the_past(
    svc: Clients, clock: FakeClock
) -> None:
    seeded = seed_demo(svc, posts_count=8)
    assert (seeded.users, seeded.posts) == (4, 8)
    posts = list(svc.db.posts.find())
    assert len(posts) == 8
    assert all(post["created_at"] < clock.now for post in posts)
    assert all(post["image_ids"] for post in posts)
    statuses = {image["status"] for image in svc.db.images.find()}
    assert statuses == {"attached"}
    assert svc.db.images.count_documents({}) == seeded.images
    assert (
        svc.db.users.count_documents({"email_verified": True, "avatar_image_id": {"$ne": None}})
        == 4
    )


def test_the_newest_demo_post_heads_the_feed_below_anything_new(svc: Clients) -> None:
    seed_demo(svc, posts_count=4)
    newest = max(post["created_at"] for post in svc.db.posts.find())
    assert newest < svc.clock()


def test_production_never_gets_demo_data(svc: Clients) -> None:
    prod = Clients(
        Settings.model_construct(**{**svc.settings.model_dump(), "stage": "prod"}),
        mongo_client=svc.mongo_client,
    )
    with pytest.raises(errors.Forbidden):
        seed_demo(prod)


def test_make_seed_refuses_the_embedded_database(
    svc: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib import manage

    if not svc.settings.uses_embedded_mongo:
        pytest.skip("with MONGODB_URI set, make seed loads the data (that is its job)")
    assert manage.main(["seed"], clients=svc) == 2
    assert "MONGODB_URI" in capsys.readouterr().err


def test_one_demo_person_is_an_administrator_so_the_admin_pages_can_be_tried(
    svc: Clients,
) -> None:
    seed_demo(svc, posts_count=1)
    admins = [doc["username"] for doc in svc.db.users.find({"roles": "admin"})]
    assert admins == [demo.DEMO_ADMIN]
    assert svc.db.users.count_documents({"roles": ["user"]}) == 3
