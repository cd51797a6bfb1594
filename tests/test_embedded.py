"""The embedded database keeps what mongomock does: each write, read back by the next process."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from bson.errors import InvalidDocument
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from chalicelib import db as app_db
from chalicelib import embedded
from tests.conftest import ROOT

Reopen = Callable[[], Any]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Any, Reopen]]:
    """A database on a fresh store, and ``reopen()``: a new process's view of the same file."""
    clients = [embedded.open_client(tmp_path)]

    def reopen() -> Any:
        clients[-1].close()
        clients.append(embedded.open_client(tmp_path))
        return clients[-1].app

    yield clients[0].app, reopen
    clients[-1].close()


def test_documents_come_back_with_every_bson_type_the_app_stores(
    store: tuple[Any, Reopen],
) -> None:
    db, reopen = store
    document = {
        "_id": ObjectId(),
        "at": datetime(2026, 12, 1, 10, 30, 15, 123000, tzinfo=UTC),
        "nested": {"list": [1, {"deep": [b"\x00\xffbytes", None]}], "flag": True},
        "big": 2**40,
        "ratio": 0.25,
        "text": "harbour ☀",
    }
    db.things.insert_one(document)
    assert reopen().things.find_one() == document


def test_updates_made_in_place_are_kept(store: tuple[Any, Reopen]) -> None:
    db, reopen = store
    db.posts.insert_many([{"_id": n, "tags": ["a"], "version": 1} for n in range(3)])
    db.posts.update_one({"_id": 0}, {"$set": {"title.en": "Dawn"}, "$inc": {"version": 1}})
    db.posts.update_many({"_id": {"$gte": 1}}, {"$push": {"tags": "b"}})
    db.posts.replace_one({"_id": 2}, {"replaced": True})
    assert list(reopen().posts.find()) == [
        {"_id": 0, "tags": ["a"], "version": 2, "title": {"en": "Dawn"}},
        {"_id": 1, "tags": ["a", "b"], "version": 1},
        {"_id": 2, "replaced": True},
    ]


def test_upserts_and_find_one_and_update_are_kept(store: tuple[Any, Reopen]) -> None:
    db, reopen = store
    db.rate_limits.update_one({"_id": "login:ann"}, {"$inc": {"count": 1}}, upsert=True)
    after = db.rate_limits.find_one_and_update(
        {"_id": "login:ann"},
        {"$inc": {"count": 1}, "$setOnInsert": {"first": True}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert after == {"_id": "login:ann", "count": 2}
    created = db.rate_limits.find_one_and_update(
        {"_id": "login:bob"}, {"$setOnInsert": {"count": 7}}, upsert=True
    )
    assert created is None
    assert list(reopen().rate_limits.find()) == [
        {"_id": "login:ann", "count": 2},
        {"_id": "login:bob", "count": 7},
    ]


def test_deletes_are_kept(store: tuple[Any, Reopen]) -> None:
    db, reopen = store
    db.images.insert_many([{"_id": n, "status": "pending"} for n in range(5)])
    db.images.delete_one({"_id": 0})
    db.images.delete_many({"_id": {"$in": [1, 2]}})
    assert db.images.find_one_and_delete({"_id": 3}) == {"_id": 3, "status": "pending"}
    assert list(reopen().images.find()) == [{"_id": 4, "status": "pending"}]


def test_dropped_and_renamed_collections_stay_so(store: tuple[Any, Reopen]) -> None:
    db, reopen = store
    db.old.insert_one({"_id": 1})
    db.old.create_index("x", name="by_x")
    db.gone.insert_one({"_id": 2})
    db.gone.create_index("y", name="by_y")
    db.old.rename("new")
    db.gone.drop()
    db.empty.database.create_collection("empty")
    reopened = reopen()
    assert sorted(reopened.list_collection_names()) == ["empty", "new"]
    assert list(reopened.new.find()) == [{"_id": 1}]
    assert "by_x" in reopened.new.index_information()
    assert reopened.gone.index_information() == {}


def test_unique_indexes_still_hold_after_a_reload(store: tuple[Any, Reopen]) -> None:
    db, reopen = store
    app_db.ensure_indexes(db)
    db.users.insert_one({"email": "ann@example.com", "username": "ann"})
    reopened = reopen()
    # The app applies its indexes at every start: a reloaded index is the same index.
    app_db.ensure_indexes(reopened)
    with pytest.raises(DuplicateKeyError):
        reopened.users.insert_one({"email": "ann@example.com", "username": "other"})
    reopened.users.insert_one({"email": "bob@example.com", "username": "bob"})
    with pytest.raises(DuplicateKeyError):
        reopened.users.update_one({"username": "bob"}, {"$set": {"username": "ann"}})
    assert sorted(u["username"] for u in reopen().users.find()) == ["ann", "bob"]


def test_a_failed_unique_check_leaves_the_file_as_memory_has_it(
    store: tuple[Any, Reopen],
) -> None:
    db, reopen = store
    db.users.create_index("email", unique=True)
    db.users.insert_many([{"_id": 1, "email": "a"}, {"_id": 2, "email": "b"}])
    with pytest.raises(DuplicateKeyError):
        db.users.insert_one({"_id": 3, "email": "a"})
    with pytest.raises(DuplicateKeyError):
        db.users.update_many({}, {"$set": {"email": "same"}})
    in_memory = list(db.users.find())
    assert list(reopen().users.find()) == in_memory
    assert len(in_memory) == 2


def test_a_write_bson_cannot_hold_fails_and_leaves_nothing_behind(
    store: tuple[Any, Reopen],
) -> None:
    db, reopen = store
    db.posts.insert_one({"_id": 1, "tags": ["a"]})
    with pytest.raises(InvalidDocument):
        db.posts.update_one({"_id": 1}, {"$set": {"tags": {"a", "set"}}})
    assert db.posts.find_one() == {"_id": 1, "tags": ["a"]}
    assert reopen().posts.find_one() == {"_id": 1, "tags": ["a"]}


def test_ttl_expiry_is_kept_and_dropped_indexes_stay_dropped(store: tuple[Any, Reopen]) -> None:
    db, reopen = store
    now = datetime.now(UTC)
    db.sessions.create_index("expires_at", expireAfterSeconds=0, name="expiry_ttl")
    db.sessions.create_index("user_id", name="by_user")
    db.sessions.insert_many(
        [
            {"_id": "old", "expires_at": now - timedelta(minutes=1)},
            {"_id": "live", "expires_at": now + timedelta(hours=1)},
        ]
    )
    assert [s["_id"] for s in db.sessions.find()] == ["live"]  # a read expires "old"
    db.sessions.drop_index("by_user")
    reopened = reopen()
    assert [s["_id"] for s in reopened.sessions.find()] == ["live"]
    assert set(reopened.sessions.index_information()) == {"_id_", "expiry_ttl"}
    reopened.sessions.drop_indexes()
    assert set(reopen().sessions.index_information()) == {"_id_"}


def test_natural_order_survives_a_reload(store: tuple[Any, Reopen]) -> None:
    db, reopen = store
    db.feed.insert_many([{"_id": n} for n in (3, 1, 2)])
    db.feed.update_one({"_id": 3}, {"$set": {"seen": True}})
    db.feed.delete_one({"_id": 1})
    db.feed.insert_one({"_id": 1})
    assert [d["_id"] for d in reopen().feed.find()] == [3, 2, 1]


def test_a_transaction_keeps_all_of_its_writes_or_none(tmp_path: Path) -> None:
    client = embedded.open_client(tmp_path)

    def half_way() -> None:
        with client.transaction():
            client.app.users.insert_one({"_id": "ann"})
            client.app.posts.insert_one({"_id": 1, "author": "ann"})
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        half_way()
    assert client.app.users.find_one() is None
    with client.transaction():
        client.app.users.insert_one({"_id": "bob"})
    client.close()
    client = embedded.open_client(tmp_path)
    assert list(client.app.users.find()) == [{"_id": "bob"}]
    assert client.app.posts.find_one() is None
    client.close()


def test_one_process_owns_the_store_and_others_are_told_who(tmp_path: Path) -> None:
    client = embedded.open_client(tmp_path)
    with pytest.raises(embedded.StoreInUse, match=f"in use by process {os.getpid()}"):
        embedded.open_client(tmp_path, wait_seconds=0)
    client.close()
    embedded.open_client(tmp_path, wait_seconds=0).close()


def test_the_store_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    embedded.open_client(tmp_path).close()
    assert stat.S_IMODE((tmp_path / embedded.STORE_FILE).stat().st_mode) == 0o600


def test_a_killed_process_loses_no_write_it_returned_from(tmp_path: Path) -> None:
    # As gunicorn's timeout does to a worker: SIGKILL, no clean-up of any kind.
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from chalicelib import embedded
        db = embedded.open_client(Path({str(tmp_path)!r})).app
        db.users.insert_one({{"_id": "ann"}})
        db.users.update_one({{"_id": "ann"}}, {{"$set": {{"verified": True}}}})
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False)
    assert killed.returncode == -signal.SIGKILL
    client = embedded.open_client(tmp_path, wait_seconds=0)  # the kernel let the lock go
    assert client.app.users.find_one() == {"_id": "ann", "verified": True}
    client.close()
