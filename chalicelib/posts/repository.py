"""The ``posts`` collection. Nothing Mongo-shaped leaves this module."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import ids, pagination

Db = Any

# At most this many words of a search are used: each becomes part of the query.
MAX_SEARCH_WORDS = 8


@dataclass(frozen=True)
class PostRecord:
    id: str
    author_id: str
    title: str
    body: str
    tags: tuple[str, ...]
    visibility: str
    image_ids: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    version: int


def _record(doc: dict[str, Any]) -> PostRecord:
    return PostRecord(
        id=str(doc["_id"]),
        author_id=doc["author_id"],
        title=doc["title"],
        body=doc.get("body", ""),
        tags=tuple(doc.get("tags", ())),
        visibility=doc["visibility"],
        image_ids=tuple(doc.get("image_ids", ())),
        created_at=doc["created_at"],
        updated_at=doc.get("updated_at", doc["created_at"]),
        version=int(doc.get("version", 1)),
    )


def new_id() -> str:
    """An id for a post about to be created (its images are attached to it first)."""
    return str(ids.new_object_id())


def insert(
    *, db: Db, post_id: str, author_id: str, fields: dict[str, Any], now: datetime
) -> PostRecord:
    doc = {
        "_id": ids.to_object_id(post_id),
        "author_id": author_id,
        **fields,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    db.posts.insert_one(doc)
    return _record(doc)


def get(*, db: Db, post_id: str) -> PostRecord | None:
    oid = ids.to_object_id(post_id)
    if oid is None:
        return None
    doc = db.posts.find_one({"_id": oid})
    return None if doc is None else _record(doc)


def image_ids_of(*, db: Db, post_ids: list[str]) -> dict[str, list[str]]:
    """The image ids each existing post lists; posts that do not exist are absent."""
    oids = [oid for oid in (ids.to_object_id(i) for i in post_ids) if oid is not None]
    docs = db.posts.find({"_id": {"$in": oids}}, {"image_ids": 1})
    return {str(doc["_id"]): list(doc.get("image_ids", [])) for doc in docs}


def update(
    *, db: Db, post_id: str, expected_version: int, fields: dict[str, Any], now: datetime
) -> PostRecord | None:
    """Apply ``fields`` if the post is still at ``expected_version``; None if it moved on."""
    from pymongo import ReturnDocument

    doc = db.posts.find_one_and_update(
        {"_id": ids.to_object_id(post_id), "version": expected_version},
        {"$set": {**fields, "updated_at": now}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else _record(doc)


def delete(*, db: Db, post_id: str, expected_version: int) -> bool:
    result = db.posts.delete_one({"_id": ids.to_object_id(post_id), "version": expected_version})
    return bool(result.deleted_count == 1)


def page(
    *,
    db: Db,
    viewer_id: str | None,
    tag: str | None,
    author_id: str | None,
    search: dict[str, Any] | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[PostRecord]:
    """One page, newest first, keyset-paginated on (created_at, _id): one query."""
    clauses: list[dict[str, Any]] = [visible_to(viewer_id)]
    if tag is not None:
        clauses.append({"tags": tag})
    if author_id is not None:
        clauses.append({"author_id": author_id})
    if search is not None:
        clauses.append(search)
    if after is not None:
        clauses.append(pagination.after(after))
    query = clauses[0] if len(clauses) == 1 else {"$and": clauses}
    cursor = db.posts.find(query).sort(pagination.NEWEST_FIRST).limit(limit)
    return [_record(doc) for doc in cursor]


def visible_to(viewer_id: str | None) -> dict[str, Any]:
    """Public posts, plus the viewer's own private posts and drafts."""
    if viewer_id is None:
        return {"visibility": "public"}
    return {"$or": [{"visibility": "public"}, {"author_id": viewer_id}]}


def search_filter(q: str, *, native_text: bool) -> dict[str, Any] | None:
    """Match whole words of title and body, case-insensitively. None when q has no words.

    On MongoDB this is ``$text`` over the posts' text index (words are
    stemmed, so "harbours" also finds "harbour"). The embedded stand-in has no
    ``$text``; there the same words match as whole words through
    case-insensitive regular expressions, without stemming. Either way a post
    matches when any of the words does, and results keep the feed's order.
    """
    words = re.findall(r"\w+", q)[:MAX_SEARCH_WORDS]
    if not words:
        return None
    if native_text:
        return {"$text": {"$search": " ".join(words)}}
    patterns = [re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE) for word in words]
    return {"$or": [{field: pattern} for pattern in patterns for field in ("title", "body")]}
