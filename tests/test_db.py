from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from chalicelib.composition import Clients
from chalicelib.db import INDEXES, ensure_indexes


@pytest.fixture
def raw_db(mongo_client: Any, db_name: str) -> Any:
    """A database nothing has touched yet (``svc.db`` would have applied indexes)."""
    return mongo_client[db_name]


def test_ensure_indexes_creates_every_declared_index(raw_db: Any) -> None:
    assert raw_db.list_collection_names() == []
    ensure_indexes(raw_db)
    for collection, models in INDEXES.items():
        present = {index["name"] for index in raw_db[collection].list_indexes()}
        declared = {model.document["name"] for model in models}
        assert declared <= present, collection


def test_ensure_indexes_is_idempotent(raw_db: Any) -> None:
    first = ensure_indexes(raw_db)
    second = ensure_indexes(raw_db)
    assert first == second


def test_unique_indexes_are_enforced(raw_db: Any) -> None:
    ensure_indexes(raw_db)
    raw_db.users.insert_one({"email": "a@example.com", "username": "a"})
    with pytest.raises(DuplicateKeyError):
        raw_db.users.insert_one({"email": "a@example.com", "username": "b"})


def test_expiring_collections_have_a_ttl_index(raw_db: Any) -> None:
    ensure_indexes(raw_db)
    for collection in ("sessions", "tokens", "rate_limits"):
        ttl = [i for i in raw_db[collection].list_indexes() if "expireAfterSeconds" in i]
        assert [i["key"] for i in ttl] == [{"expires_at": 1}], collection


def test_make_indexes_runs_the_same_code(svc: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib import manage

    assert manage.main(["indexes"], clients=svc) == 0
    output = capsys.readouterr().out
    assert "posts: feed, by_author, by_tag, text" in output
    assert "users: email_unique, username_unique, newest" in output


def test_the_deploys_ensure_indexes_function_creates_every_declared_index(
    make_settings: Any,
) -> None:
    from chalicelib.composition import create_app

    clients = Clients(make_settings())
    handler = create_app(clients).handler_map["ensure_indexes"]

    created = handler({}, None)

    assert set(created) == set(INDEXES)
    raw_db = clients.mongo_client[clients.settings.mongodb_db]
    for collection, models in INDEXES.items():
        present = {index["name"] for index in raw_db[collection].list_indexes()}
        assert {model.document["name"] for model in models} <= present, collection
