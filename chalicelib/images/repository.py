"""The ``images`` collection (and the one ``users`` field avatars own), in pymongo.

Ids cross this boundary as strings and documents as ``ImageRecord``: nothing
Mongo-shaped leaves this module. Every write is a single-document or
conditional ``update_many`` whose match count the caller checks; there are no
transactions (the embedded stand-in has none). Driver failures pass through:
the request wrapper's one boundary (``db.outage``) makes outages a 503.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from chalicelib import errors, ids
from chalicelib.images.models import ImageRecord

Db = Database[dict[str, Any]]


def _oid(value: str) -> ObjectId | None:
    oid: ObjectId | None = ids.to_object_id(value)
    return oid


def _oids(values: Sequence[str]) -> list[ObjectId]:
    return [oid for oid in (_oid(v) for v in values) if oid is not None]


def _record(doc: Mapping[str, Any]) -> ImageRecord:
    return ImageRecord(
        id=str(doc["_id"]),
        owner_id=doc["owner_id"],
        provider=doc["provider"],
        file_id=doc["file_id"],
        path=doc["path"],
        width=doc["width"],
        height=doc["height"],
        format=doc["format"],
        size=doc["size"],
        alt=doc.get("alt"),
        status=doc["status"],
        created_at=doc["created_at"],
        post_id=doc.get("post_id"),
        avatar_of=doc.get("avatar_of"),
        conceal_to=doc.get("conceal_to"),
        private_path=bool(doc.get("private_path", False)),
    )


def insert(
    db: Db,
    *,
    owner_id: str,
    provider: str,
    file_id: str,
    path: str,
    width: int,
    height: int,
    format: str,
    size: int,
    alt: str | None,
    now: dt.datetime,
) -> ImageRecord:
    doc: dict[str, Any] = {
        "owner_id": owner_id,
        "provider": provider,
        "file_id": file_id,
        "path": path,
        "width": width,
        "height": height,
        "format": format,
        "size": size,
        "alt": alt,
        "status": "pending",
        "post_id": None,
        "avatar_of": None,
        "created_at": now,
    }
    try:
        result = db.images.insert_one(doc)
    except DuplicateKeyError:
        raise errors.Conflict(
            "This file is already registered.", code="already_registered"
        ) from None
    doc["_id"] = result.inserted_id
    return _record(doc)


def get(db: Db, image_id: str) -> ImageRecord | None:
    oid = _oid(image_id)
    if oid is None:
        return None
    doc = db.images.find_one({"_id": oid, "status": {"$ne": "deleted"}})
    return None if doc is None else _record(doc)


def find_many(db: Db, image_ids: Sequence[str]) -> dict[str, ImageRecord]:
    """Live images by id, in one query; unknown, malformed and deleted ids are absent."""
    oids = _oids(image_ids)
    if not oids:
        return {}
    docs = db.images.find({"_id": {"$in": oids}, "status": {"$ne": "deleted"}})
    return {str(doc["_id"]): _record(doc) for doc in docs}


def set_alt(db: Db, image_id: str, *, alt: str | None) -> ImageRecord | None:
    """Change a live image's alt text; None if it is gone."""
    doc = db.images.find_one_and_update(
        {"_id": _oid(image_id), "status": {"$ne": "deleted"}},
        {"$set": {"alt": alt}},
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else _record(doc)


def attach_pending(
    db: Db, *, image_ids: Sequence[str], owner_id: str, post_id: str, stamp: str, now: dt.datetime
) -> int:
    """Attach the owner's pending images to a post; returns how many matched."""
    result = db.images.update_many(
        {"_id": {"$in": _oids(image_ids)}, "owner_id": owner_id, "status": "pending"},
        {
            "$set": {
                "status": "attached",
                "post_id": post_id,
                "attach_stamp": stamp,
                "attached_at": now,
            }
        },
    )
    return result.matched_count


def undo_attach(db: Db, *, stamp: str) -> None:
    """Compensation: put back exactly the images one ``attach_pending`` call changed."""
    db.images.update_many(
        {"attach_stamp": stamp, "status": "attached"},
        {
            "$set": {"status": "pending", "post_id": None},
            "$unset": {"attach_stamp": "", "attached_at": ""},
        },
    )


def attached_between(
    db: Db, *, since: dt.datetime, before: dt.datetime, limit: int
) -> list[tuple[str, str]]:
    """(image id, post id) of the images attached to a post in ``[since, before)``."""
    docs = db.images.find(
        {"status": "attached", "attached_at": {"$gte": since, "$lt": before}},
        {"_id": 1, "post_id": 1},
    ).limit(limit)
    return [(str(doc["_id"]), doc["post_id"]) for doc in docs if doc.get("post_id")]


def detach(db: Db, *, image_ids: Sequence[str], post_id: str) -> None:
    """Compensation: the post these images were attached to was never written."""
    db.images.update_many(
        {"_id": {"$in": _oids(image_ids)}, "post_id": post_id, "status": "attached"},
        {
            "$set": {"status": "pending", "post_id": None},
            "$unset": {"attach_stamp": "", "attached_at": ""},
        },
    )


def plan_rename(db: Db, image_id: str, *, post_id: str, new_name: str, now: dt.datetime) -> None:
    """Record the file's next name, unless one is already planned (a retry keeps it)."""
    db.images.update_one(
        {"_id": _oid(image_id), "post_id": post_id, "status": "attached", "conceal_to": None},
        {"$set": {"conceal_to": new_name, "conceal_planned_at": now}},
    )


def renames_due(
    db: Db,
    *,
    image_ids: Sequence[str] | None = None,
    planned_before: dt.datetime | None = None,
    limit: int = 0,
) -> list[ImageRecord]:
    """Attached images with a planned rename: among ``image_ids``, or planned before a time."""
    query: dict[str, Any] = {"status": "attached", "conceal_to": {"$ne": None}}
    if image_ids is not None:
        query["_id"] = {"$in": _oids(image_ids)}
    if planned_before is not None:
        query["conceal_planned_at"] = {"$lt": planned_before}
    return [_record(doc) for doc in db.images.find(query).limit(limit)]


def relocate(db: Db, image_id: str, *, from_path: str, file_id: str, path: str) -> None:
    """The file was renamed: record where it is now and that no rename is pending."""
    db.images.update_one(
        {"_id": _oid(image_id), "path": from_path},
        {
            "$set": {"file_id": file_id, "path": path, "private_path": True},
            "$unset": {"conceal_to": "", "conceal_planned_at": ""},
        },
    )


def reveal(db: Db, *, image_ids: Sequence[str], post_id: str) -> None:
    """The post is public again: its images' paths may have URLs without an expiry."""
    db.images.update_many(
        {"_id": {"$in": _oids(image_ids)}, "post_id": post_id, "private_path": True},
        {"$unset": {"private_path": ""}},
    )


def claim_for_avatar(db: Db, *, image_id: str, owner_id: str, user_id: str) -> bool:
    """The owner's pending image (or their current avatar) becomes their avatar."""
    oid = _oid(image_id)
    if oid is None:
        return False
    result = db.images.update_one(
        {
            "_id": oid,
            "owner_id": owner_id,
            "$or": [{"status": "pending"}, {"status": "attached", "avatar_of": user_id}],
        },
        {"$set": {"status": "attached", "avatar_of": user_id, "post_id": None}},
    )
    return result.matched_count == 1


def unclaim_avatar(db: Db, *, image_id: str, user_id: str) -> None:
    db.images.update_one(
        {"_id": _oid(image_id), "avatar_of": user_id, "status": "attached"},
        {"$set": {"status": "pending", "avatar_of": None}},
    )


def set_user_avatar(db: Db, *, user_id: str, image_id: str | None) -> tuple[bool, str | None]:
    """Set (or clear) ``users.avatar_image_id``; returns (user found, previous avatar id)."""
    oid = _oid(user_id)
    if oid is None:
        return False, None
    update = (
        {"$set": {"avatar_image_id": image_id}}
        if image_id is not None
        else {"$unset": {"avatar_image_id": ""}}
    )
    before = db.users.find_one_and_update(
        {"_id": oid},
        update,
        projection={"avatar_image_id": 1},
        return_document=ReturnDocument.BEFORE,
    )
    if before is None:
        return False, None
    previous = before.get("avatar_image_id")
    return True, None if previous is None else str(previous)


def discard(
    db: Db,
    *,
    image_ids: Sequence[str],
    post_id: str | None = None,
    avatar_of: str | None = None,
    only_pending: bool = False,
) -> list[ImageRecord]:
    """Mark images deleted and due for file clean-up; returns those this call marked.

    ``post_id`` / ``avatar_of`` restrict the change to images used that way, so
    a post can only release its own images. ``only_pending`` refuses attached ones.
    """
    oids = _oids(image_ids)
    if not oids:
        return []
    query: dict[str, Any] = {"_id": {"$in": oids}, "status": {"$ne": "deleted"}}
    if post_id is not None:
        query["post_id"] = post_id
    if avatar_of is not None:
        query["avatar_of"] = avatar_of
    if only_pending:
        query["status"] = "pending"
    return _mark_deleted(db, query)


def expire_pending(db: Db, *, created_before: dt.datetime, limit: int) -> list[ImageRecord]:
    """Pending images older than the cutoff become deleted (an attach racing this wins)."""
    ids = [
        doc["_id"]
        for doc in db.images.find(
            {"status": "pending", "created_at": {"$lt": created_before}}, {"_id": 1}
        ).limit(limit)
    ]
    if not ids:
        return []
    return _mark_deleted(
        db, {"_id": {"$in": ids}, "status": "pending", "created_at": {"$lt": created_before}}
    )


def _mark_deleted(db: Db, query: dict[str, Any]) -> list[ImageRecord]:
    candidates = [doc["_id"] for doc in db.images.find(query, {"_id": 1})]
    if not candidates:
        return []
    # Re-check the conditions in the update itself: a concurrent change wins.
    db.images.update_many(
        {**query, "_id": {"$in": candidates}},
        {"$set": {"status": "deleted", "cleanup_pending": True, "cleanup_attempts": 0}},
    )
    docs = db.images.find(
        {"_id": {"$in": candidates}, "status": "deleted", "cleanup_pending": True}
    )
    return [_record(doc) for doc in docs]


def awaiting_cleanup(db: Db, *, limit: int) -> list[ImageRecord]:
    docs = db.images.find({"status": "deleted", "cleanup_pending": True}).limit(limit)
    return [_record(doc) for doc in docs]


def forget(db: Db, image_id: str) -> None:
    """The file is gone from the store: the record has nothing left to track."""
    db.images.delete_one({"_id": _oid(image_id), "status": "deleted"})


def cleanup_failed(db: Db, image_id: str, *, reason: str, now: dt.datetime) -> None:
    db.images.update_one(
        {"_id": _oid(image_id), "status": "deleted"},
        {
            "$inc": {"cleanup_attempts": 1},
            "$set": {"cleanup_error": reason, "cleanup_failed_at": now},
        },
    )
