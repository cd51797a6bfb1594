"""The database: every index the application relies on, declared in one place.

``ensure_indexes`` is idempotent: creating an index that already exists with
the same specification is a no-op on MongoDB. Run it with ``make indexes``
(a deploy step); dev applies it lazily at first use.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, TEXT, IndexModel
from pymongo.database import Database

from chalicelib.logs import get_logger

log = get_logger("db")

_NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]

INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        IndexModel([("email", ASCENDING)], name="email_unique", unique=True),
        IndexModel([("username", ASCENDING)], name="username_unique", unique=True),
        IndexModel([("created_at", DESCENDING), ("_id", DESCENDING)], name="newest"),
    ],
    "sessions": [
        IndexModel([("token_hash", ASCENDING)], name="token_hash_unique", unique=True),
        IndexModel([("user_id", ASCENDING)], name="by_user"),
        # Replayed (rotated-away) refresh tokens are found by this multikey index.
        IndexModel([("previous_hashes", ASCENDING)], name="by_previous_hash"),
        # Clean-up only: every read also checks expires_at itself.
        IndexModel([("expires_at", ASCENDING)], name="expiry_ttl", expireAfterSeconds=0),
    ],
    "tokens": [
        IndexModel([("token_hash", ASCENDING)], name="token_hash_unique", unique=True),
        IndexModel([("user_id", ASCENDING), ("purpose", ASCENDING)], name="by_user_purpose"),
        IndexModel([("expires_at", ASCENDING)], name="expiry_ttl", expireAfterSeconds=0),
    ],
    "posts": [
        IndexModel([("visibility", ASCENDING), *_NEWEST_FIRST], name="feed"),
        IndexModel([("author_id", ASCENDING), *_NEWEST_FIRST], name="by_author"),
        IndexModel([("tags", ASCENDING), *_NEWEST_FIRST], name="by_tag"),
        IndexModel([("title", TEXT), ("body", TEXT)], name="text", weights={"title": 3, "body": 1}),
    ],
    "images": [
        IndexModel([("owner_id", ASCENDING), ("created_at", DESCENDING)], name="by_owner"),
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="by_status"),
        IndexModel(
            [("provider", ASCENDING), ("file_id", ASCENDING)], name="file_unique", unique=True
        ),
        # Only images whose post is leaving public view carry the field: the sweep's retry.
        IndexModel([("conceal_planned_at", ASCENDING)], name="renames_due", sparse=True),
    ],
    "rate_limits": [
        IndexModel([("expires_at", ASCENDING)], name="expiry_ttl", expireAfterSeconds=0),
    ],
}


def ensure_indexes(db: Database[dict[str, Any]]) -> dict[str, list[str]]:
    """Create every declared index; returns the index names per collection."""
    created: dict[str, list[str]] = {}
    for collection, models in INDEXES.items():
        created[collection] = db[collection].create_indexes(models)
    log.info({"event": "indexes_ensured", "collections": sorted(created)})
    return created
