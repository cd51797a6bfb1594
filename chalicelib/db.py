"""The database: every index the application relies on, and what counts as an outage.

``ensure_indexes`` is idempotent: creating an index that already exists with
the same specification is a no-op on MongoDB. Run it with ``make indexes``
(a deploy step); dev applies it lazily at first use.

``outage`` is the one place that tells a database that cannot serve right now
(the client may retry: 503) from a bug (500); the request wrapper asks it about
every exception a route lets escape, so no repository translates driver errors.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, TEXT, IndexModel
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError, WriteConcernError

from chalicelib import errors
from chalicelib.logs import get_logger

log = get_logger("db")

RETRY_AFTER_SECONDS = 5
# Answers of a server that is stepping down, shutting down or cut off from its
# peers: the codes the retryable reads and writes specifications retry. pymongo
# raises those it has already retried once as a plain OperationFailure.
_UNAVAILABLE_CODES = frozenset(
    {
        6,  # HostUnreachable
        7,  # HostNotFound
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        134,  # ReadConcernMajorityNotAvailableYet
        189,  # PrimarySteppedDown
        262,  # ExceededTimeLimit
        9001,  # SocketException
        10058,  # LegacyNotPrimary
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)

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
        # The sweep's look at recent attaches (detach and undo unset the field).
        IndexModel([("attached_at", ASCENDING)], name="by_attached_at", sparse=True),
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


def outage(exc: BaseException) -> errors.Unavailable | None:
    """``Unavailable`` if ``exc`` says the database cannot serve right now, else None.

    Outages: no server selected in time, a connection refused, lost or timed out
    (``ConnectionFailure``: ``AutoReconnect``, ``NetworkTimeout``,
    ``NotPrimaryError``, ``ServerSelectionTimeoutError``), a write not
    acknowledged by the write concern, a time limit exceeded, or a server answer
    that it is not primary, recovering or unreachable. A duplicate key, a bad
    query or a misuse of the driver is a bug of ours or a conflict, not an outage.
    """
    if not isinstance(exc, PyMongoError):
        return None
    code = exc.code if isinstance(exc, OperationFailure) else None
    if not (
        isinstance(exc, (ConnectionFailure, WriteConcernError))
        or exc.timeout
        or code in _UNAVAILABLE_CODES
        or exc.has_error_label("RetryableWriteError")
    ):
        return None
    # The driver's message names hosts and the topology: only the type and code are logged.
    log.warning({"event": "database_unavailable", "reason": type(exc).__name__, "code": code})
    return errors.Unavailable(
        "The database is not reachable right now; try again shortly.",
        retry_after=RETRY_AFTER_SECONDS,
        code="database_unavailable",
    )
