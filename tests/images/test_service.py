"""The contract posts rely on (attach, release, find_many, to_public) and the sweep."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mongomock
import pytest
import respx
from bson import ObjectId

from chalicelib import errors, manage
from chalicelib.composition import Clients
from chalicelib.images import repository, service
from chalicelib.images.imagekit import ImageKitStore
from chalicelib.images.local import LocalStore
from chalicelib.images.store import ImageStore
from chalicelib.routing import Api
from tests.images.conftest import FakeImageKit, make_image

OWNER = str(ObjectId())
NOW = dt.datetime.now(dt.UTC)


def pending(svc: Clients, *, owner: str = OWNER, created_at: dt.datetime | None = None) -> str:
    """A stored file with its pending record, as an upload leaves it."""
    stored = svc.image_store.upload(
        data=make_image(), file_name="a.jpg", folder=service.folder_for(owner)
    )
    record = repository.insert(
        svc.db, owner_id=owner, provider=svc.image_store.provider, file_id=stored.file_id,
        path=stored.path, width=64, height=48, format="jpeg", size=stored.size, alt=None,
        now=created_at or NOW,
    )  # fmt: skip
    return record.id


def status(db: Any, image_id: str) -> str | None:
    doc = db.images.find_one({"_id": ObjectId(image_id)})
    return None if doc is None else str(doc["status"])


# --------------------------------------------------------------------- attach


def test_attach_attaches_every_image_to_the_post(svc: Clients, db: Any) -> None:
    ids = [pending(svc), pending(svc)]
    service.attach(db=db, clock=svc.clock, owner_id=OWNER, image_ids=ids, post_id="p1")
    assert {(status(db, i), db.images.find_one({"_id": ObjectId(i)})["post_id"]) for i in ids} == {
        ("attached", "p1")
    }
    # Saving the same post again is fine; another post may not take them.
    service.attach(db=db, clock=svc.clock, owner_id=OWNER, image_ids=ids, post_id="p1")
    with pytest.raises(errors.InvalidInput):
        service.attach(db=db, clock=svc.clock, owner_id=OWNER, image_ids=ids[:1], post_id="p2")


def test_attach_names_every_bad_id_and_changes_nothing(svc: Clients, db: Any) -> None:
    good = pending(svc)
    someone_elses = pending(svc, owner=str(ObjectId()))
    used = pending(svc)
    service.attach(db=db, clock=svc.clock, owner_id=OWNER, image_ids=[used], post_id="other")
    bad = [good, "not-an-id", someone_elses, str(ObjectId()), used, good]
    with pytest.raises(errors.InvalidInput) as caught:
        service.attach(db=db, clock=svc.clock, owner_id=OWNER, image_ids=bad, post_id="p1")
    assert [e.field for e in caught.value.errors] == [
        "image_ids.1", "image_ids.2", "image_ids.3", "image_ids.4", "image_ids.5"
    ]  # fmt: skip
    assert status(db, good) == "pending"


def test_attach_undoes_its_own_changes_when_an_image_changes_underneath(
    svc: Clients, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = pending(svc), pending(svc)
    real_find_many = repository.find_many

    def read_then_race(database: Any, image_ids: Any) -> Any:
        found = real_find_many(database, image_ids)
        # Another request attaches `second` between our read and our write.
        database.images.update_one(
            {"_id": ObjectId(second)}, {"$set": {"status": "attached", "post_id": "rival"}}
        )
        return found

    monkeypatch.setattr(repository, "find_many", read_then_race)
    with pytest.raises(errors.InvalidInput) as caught:
        service.attach(
            db=db, clock=svc.clock, owner_id=OWNER, image_ids=[first, second], post_id="p1"
        )
    assert [e.field for e in caught.value.errors] == ["image_ids.1"]
    assert status(db, first) == "pending"
    assert db.images.find_one({"_id": ObjectId(second)})["post_id"] == "rival"


# ------------------------------------------------------------- find / public


def test_find_many_reads_all_images_in_one_query(
    svc: Clients, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [pending(svc) for _ in range(3)]
    calls: list[object] = []
    real_find = mongomock.Collection.find

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real_find(self, *args, **kwargs)

    monkeypatch.setattr(mongomock.Collection, "find", counting)
    found = service.find_many(db=db, image_ids=[*ids, "junk", str(ObjectId())])
    assert set(found) == set(ids)
    assert len(calls) == 1
    assert all(isinstance(record.id, str) for record in found.values())


def test_to_public_signs_every_url_and_expires_them_only_when_private(
    svc: Clients, db: Any
) -> None:
    image_id = pending(svc)
    record = service.find_many(db=db, image_ids=[image_id])[image_id]
    public = service.to_public(record, store=svc.image_store, private=False)
    assert public.url.startswith("http://127.0.0.1:8000/media/snapboard/users/")
    assert "tr=w-320,h-320" in public.variants.thumb
    assert public.srcset.endswith(" 48w") or public.srcset.endswith(" 64w")
    assert "bl-" in public.placeholder
    for url in (public.url, public.variants.card, public.placeholder):
        assert "ik-s=" in url
        assert "ik-t=" not in url
    private = service.to_public(record, store=svc.image_store, private=True)
    for url in (private.url, private.variants.card, private.placeholder):
        assert "ik-t=" in url
        assert "ik-s=" in url


def test_avatar_urls_are_square_crops(svc: Clients, db: Any) -> None:
    image_id = pending(svc)
    record = service.find_many(db=db, image_ids=[image_id])[image_id]
    urls = service.avatar_urls(record, store=svc.image_store)
    assert "?tr=w-256,h-256,f-auto&ik-s=" in urls["large"]
    assert "ik-t=" not in urls["large"]  # avatars are public: signed, never expiring


# ----------------------------------------------------------- release, sweep


def test_release_deletes_the_posts_images_and_leaves_others(svc: Clients, db: Any) -> None:
    mine, other_post = pending(svc), pending(svc)
    service.attach(db=db, clock=svc.clock, owner_id=OWNER, image_ids=[mine], post_id="p1")
    service.attach(db=db, clock=svc.clock, owner_id=OWNER, image_ids=[other_post], post_id="p2")
    file_id = db.images.find_one({"_id": ObjectId(mine)})["file_id"]
    service.release(
        db=db,
        image_store=svc.image_store,
        clock=svc.clock,
        image_ids=[mine, other_post],
        post_id="p1",
    )
    assert status(db, mine) is None
    assert svc.image_store.get(file_id) is None
    assert status(db, other_post) == "attached"


def test_a_failed_delete_never_blocks_and_the_sweep_finishes_it(
    on_imagekit: Clients, fake_imagekit: tuple[FakeImageKit, respx.MockRouter]
) -> None:
    fake = fake_imagekit[0]
    db = on_imagekit.db
    image_id = pending(on_imagekit)
    service.attach(
        db=db, clock=on_imagekit.clock, owner_id=OWNER, image_ids=[image_id], post_id="p1"
    )
    fake.fail["delete"] = 500
    service.release(
        db=db,
        image_store=on_imagekit.image_store,
        clock=on_imagekit.clock,
        image_ids=[image_id],
        post_id="p1",
    )  # no raise
    doc = db.images.find_one({"_id": ObjectId(image_id)})
    assert doc is not None
    assert (doc["status"], doc["cleanup_pending"], doc["cleanup_attempts"]) == ("deleted", True, 1)
    assert service.find_many(db=db, image_ids=[image_id]) == {}
    del fake.fail["delete"]
    report = service.sweep(db=db, image_store=on_imagekit.image_store, now=NOW)
    assert (report.cleaned, report.failed) == (1, 0)
    assert db.images.find_one({"_id": ObjectId(image_id)}) is None
    assert fake.deleted == [doc["file_id"]]
    assert fake.purged == [f"https://ik.imagekit.io/snapboard{doc['path']}"]


def test_the_sweep_expires_day_old_pending_images_only(svc: Clients, db: Any) -> None:
    old = pending(svc, created_at=NOW - dt.timedelta(hours=25))
    fresh = pending(svc, created_at=NOW - dt.timedelta(hours=23))
    attached = pending(svc, created_at=NOW - dt.timedelta(days=3))
    service.attach(db=db, clock=svc.clock, owner_id=OWNER, image_ids=[attached], post_id="p1")
    old_file = db.images.find_one({"_id": ObjectId(old)})["file_id"]
    report = service.sweep(db=db, image_store=svc.image_store, now=NOW)
    assert (report.expired, report.cleaned, report.failed) == (1, 1, 0)
    assert status(db, old) is None
    assert svc.image_store.get(old_file) is None
    assert (status(db, fresh), status(db, attached)) == ("pending", "attached")


def test_manage_sweep_runs_the_sweep(
    svc: Clients, db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    pending(svc, created_at=NOW - dt.timedelta(days=2))
    assert manage.main(["sweep"], clients=svc) == 0
    out = capsys.readouterr().out
    assert (
        "images: expired 1, cleaned 1, failed 0, renamed 0, unregistered uploads deleted 0,"
        " returned 0" in out
    )


@dataclass
class Staging:
    """A store, and how to put a file in it as a browser's direct upload leaves it, aged."""

    store: ImageStore
    put: Callable[[str, dt.timedelta], str]  # (folder, age) -> file_id


@pytest.fixture(params=["local", "imagekit"])
def staging(request: pytest.FixtureRequest, svc: Clients) -> Staging:
    if request.param == "imagekit":
        fake: FakeImageKit = request.getfixturevalue("fake_imagekit")[0]
        ik: ImageKitStore = request.getfixturevalue("imagekit_store")

        def put_on_imagekit(folder: str, age: dt.timedelta) -> str:
            file_id = fake.put(make_image(), path=f"{folder}/{uuid.uuid4().hex}.jpg")
            fake.created[file_id] = NOW - age
            return file_id

        return Staging(ik, put_on_imagekit)
    local = svc.image_store
    assert isinstance(local, LocalStore)

    def put_locally(folder: str, age: dt.timedelta) -> str:
        stored = local.upload(data=make_image(), file_name="a.jpg", folder=folder)
        written = (NOW - age).timestamp()
        os.utime(local.root / stored.file_id, (written, written))
        return stored.file_id

    return Staging(local, put_locally)


def test_the_sweep_deletes_day_old_direct_uploads_nobody_registered(
    staging: Staging, db: Any
) -> None:
    uploads = service.upload_folder_for(OWNER)
    forgotten = staging.put(uploads, dt.timedelta(hours=25))
    forgotten_elsewhere = staging.put(
        service.upload_folder_for(str(ObjectId())), dt.timedelta(days=9)
    )
    in_progress = staging.put(uploads, dt.timedelta(hours=1))
    published = staging.put(service.folder_for(OWNER), dt.timedelta(days=30))
    report = service.sweep(db=db, image_store=staging.store, now=NOW)
    assert report.unregistered == 2
    assert staging.store.get(forgotten) is None
    assert staging.store.get(forgotten_elsewhere) is None
    assert staging.store.get(in_progress) is not None
    assert staging.store.get(published) is not None  # only the staging folder is swept


def test_the_hourly_schedule_calls_the_sweep(svc: Clients, db: Any, app: Api) -> None:
    from chalice.app import Rate, ScheduledEventConfig
    from chalice.test import Client

    from tests.conftest import ROOT

    (source,) = [s for s in app.event_sources if s.name == "sweep_images"]
    assert isinstance(source, ScheduledEventConfig)
    assert isinstance(source.schedule_expression, Rate)
    assert source.schedule_expression.to_string() == "rate(1 hour)"
    pending(svc, created_at=NOW - dt.timedelta(days=2))
    with Client(app, project_dir=str(ROOT)) as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        client.lambda_.invoke("sweep_images", event)
    assert db.images.count_documents({}) == 0
