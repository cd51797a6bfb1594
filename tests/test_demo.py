"""The demo data set `make run` loads: believable, in the past, fully attached."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib import demo, errors
from chalicelib.composition import Clients, load_demo, seed_demo
from chalicelib.posts import service as post_service
from chalicelib.settings import Settings
from tests.support import CHEAP_HASHER, FakeClock


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


def test_the_demo_data_set_is_loaded_only_into_a_database_without_accounts(
    svc: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib import manage

    assert manage.main(["seed"], clients=svc) == 0
    assert load_demo(svc) is None
    assert manage.main(["seed"], clients=svc) == 0
    out = capsys.readouterr().out
    assert "48 posts" in out
    assert "already has accounts, nothing loaded" in out
    assert f"ann@demo.snapboard.test / {demo.DEMO_PASSWORD}" in out
    assert svc.db.posts.count_documents({}) == demo.POSTS


def test_a_demo_load_cut_short_leaves_an_empty_store_and_no_files(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = Clients(make_settings(), password_hasher=CHEAP_HASHER)
    media = Path(clients.settings.data_dir) / "media"
    calls = 0
    real_create = post_service.create_post

    def create_then_die(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise SystemExit("killed by the worker timeout")
        return real_create(**kwargs)

    monkeypatch.setattr(post_service, "create_post", create_then_die)
    with pytest.raises(SystemExit):
        load_demo(clients)
    assert clients.db.users.find_one() is None
    monkeypatch.undo()
    assert any(media.rglob("*.jpg"))  # the files of the load that was cut short
    seeded = load_demo(clients)
    assert seeded is not None
    stored = {image["path"] for image in clients.db.images.find()}
    on_disk = {
        f"/{path.relative_to(media)}"
        for path in media.rglob("*")
        if path.is_file() and not path.relative_to(media).parts[0].startswith(".")
    }
    assert on_disk == stored
    clients.mongo_client.close()


def test_one_demo_person_is_an_administrator_so_the_admin_pages_can_be_tried(
    svc: Clients,
) -> None:
    seed_demo(svc, posts_count=1)
    admins = [doc["username"] for doc in svc.db.users.find({"roles": "admin"})]
    assert admins == [demo.DEMO_ADMIN]
    assert svc.db.users.count_documents({"roles": ["user"]}) == 3
