"""The ``users`` collection. Nothing Mongo-shaped leaves this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import ids, pagination
from chalicelib.principal import ROLES, Role

Db = Any  # pymongo Database; typed loosely so importing this module needs no driver


@dataclass(frozen=True)
class UserRecord:
    id: str
    email: str
    username: str
    display_name: str
    bio: str
    password_hash: str
    roles: tuple[Role, ...]  # only the roles this app knows
    email_verified: bool
    disabled: bool
    # The live refresh-token families (chalicelib.sessions keeps the list): an
    # access token works only while the family it was issued for is on it.
    session_ids: tuple[str, ...]
    avatar_image_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


def _record(doc: dict[str, Any]) -> UserRecord:
    return UserRecord(
        id=str(doc["_id"]),
        email=doc["email"],
        username=doc["username"],
        display_name=doc.get("display_name", ""),
        bio=doc.get("bio", ""),
        password_hash=doc["password_hash"],
        roles=tuple(role for role in doc.get("roles", ["user"]) if role in ROLES),
        email_verified=bool(doc.get("email_verified", False)),
        disabled=bool(doc.get("disabled", False)),
        session_ids=tuple(str(sid) for sid in doc.get("session_ids", [])),
        avatar_image_id=doc.get("avatar_image_id"),
        created_at=doc["created_at"],
        updated_at=doc.get("updated_at", doc["created_at"]),
    )


class DuplicateUser(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def insert_user(
    *, db: Db, email: str, username: str, password_hash: str, display_name: str, now: datetime
) -> UserRecord:
    """Insert a user; the unique indexes decide who wins a race for an email or username."""
    from pymongo.errors import DuplicateKeyError

    doc: dict[str, Any] = {
        "email": email,
        "username": username,
        "display_name": display_name,
        "bio": "",
        "password_hash": password_hash,
        "roles": ["user"],
        "email_verified": False,
        "disabled": False,
        "session_ids": [],
        "avatar_image_id": None,
        "created_at": now,
        "updated_at": now,
    }
    try:
        result = db.users.insert_one(doc)
    except DuplicateKeyError:
        # Ask which value is taken rather than parse the server's message.
        taken = db.users.find_one({"username": username}, projection={"_id": 1})
        raise DuplicateUser("username" if taken is not None else "email") from None
    doc["_id"] = result.inserted_id
    return _record(doc)


def find_by_id(*, db: Db, user_id: str) -> UserRecord | None:
    oid = ids.to_object_id(user_id)
    if oid is None:
        return None
    doc = db.users.find_one({"_id": oid})
    return None if doc is None else _record(doc)


def find_by_email(*, db: Db, email: str) -> UserRecord | None:
    doc = db.users.find_one({"email": email})
    return None if doc is None else _record(doc)


def find_by_username(*, db: Db, username: str) -> UserRecord | None:
    doc = db.users.find_one({"username": username})
    return None if doc is None else _record(doc)


def find_many(*, db: Db, user_ids: list[str]) -> dict[str, UserRecord]:
    """Users by id in one query (for embedding authors in a page of posts)."""
    oids = [oid for oid in (ids.to_object_id(u) for u in user_ids) if oid is not None]
    return {str(doc["_id"]): _record(doc) for doc in db.users.find({"_id": {"$in": oids}})}


def update_fields(
    *, db: Db, user_id: str, fields: dict[str, Any], now: datetime
) -> UserRecord | None:
    """Set ``fields`` atomically and return the updated user (None if it does not exist)."""
    from pymongo import ReturnDocument

    oid = ids.to_object_id(user_id)
    if oid is None:
        return None
    doc = db.users.find_one_and_update(
        {"_id": oid},
        {"$set": {**fields, "updated_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else _record(doc)


def list_page(*, db: Db, limit: int, after: tuple[datetime, str] | None) -> list[UserRecord]:
    """Newest first, keyset-paginated on (created_at, _id)."""
    query = {} if after is None else pagination.after(after)
    cursor = db.users.find(query).sort(pagination.NEWEST_FIRST).limit(limit)
    return [_record(doc) for doc in cursor]
