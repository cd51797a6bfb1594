"""Refresh-token families in the ``sessions`` collection.

A leaf: accounts (auth) start and rotate families, and the users feature ends
them (a password change, an account disabled).

A login starts a family. Each refresh replaces the family's current token with
a new one (rotation) and remembers the hashes it replaced, so a replayed old
token is recognised as theft and the whole family is revoked. Only SHA-256
hashes are stored. A family ends 30 days after login or 7 days after its last
use, whichever comes first; the TTL index only cleans up, every read checks.

The user document lists the ids of its live families (``session_ids``, written
only here). Authentication reads the user on every request anyway, so an access
token is checked against its family within that one read: ending a family ends
its access tokens at once. The list is the authority: a family whose id is not
on it is over, whatever its own document says. That is why a family is taken
off the list before its document is marked, and put on it only after its
document exists: a failure in between leaves a family ended, never one alive
without a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import ids

Db = Any

ABSOLUTE_LIFETIME = timedelta(days=30)
IDLE_LIFETIME = timedelta(days=7)
# Replayed tokens are recognised this many rotations back; older ones simply fail.
REMEMBERED_HASHES = 50
# Live families per user: a new sign-in beyond this many ends the oldest one.
# It also bounds the list that every authenticated request reads.
MAX_LIVE_SESSIONS = 50


@dataclass(frozen=True)
class SessionRecord:
    id: str
    user_id: str
    token_hash: str
    previous_hash: str | None
    rotated_at: datetime | None
    created_at: datetime
    expires_at: datetime
    absolute_expires_at: datetime
    revoked_at: datetime | None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    def lasts_until(self, moment: datetime) -> bool:
        """Whether the family will still be live at ``moment`` unless revoked (its 30 days)."""
        return self.revoked_at is None and self.absolute_expires_at >= moment


def _record(doc: dict[str, Any]) -> SessionRecord:
    return SessionRecord(
        id=str(doc["_id"]),
        user_id=doc["user_id"],
        token_hash=doc["token_hash"],
        previous_hash=doc.get("previous_hash"),
        rotated_at=doc.get("rotated_at"),
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        absolute_expires_at=doc["absolute_expires_at"],
        revoked_at=doc.get("revoked_at"),
    )


def _expiry(absolute: datetime, now: datetime) -> datetime:
    return min(absolute, now + IDLE_LIFETIME)


def start(*, db: Db, user_id: str, token_hash: str, now: datetime) -> SessionRecord:
    absolute = now + ABSOLUTE_LIFETIME
    doc: dict[str, Any] = {
        "user_id": user_id,
        "token_hash": token_hash,
        "previous_hash": None,
        "previous_hashes": [],
        "rotated_at": None,
        "created_at": now,
        "last_used_at": now,
        "absolute_expires_at": absolute,
        "expires_at": _expiry(absolute, now),
        "revoked_at": None,
    }
    doc["_id"] = db.sessions.insert_one(doc).inserted_id
    db.users.update_one(
        {"_id": ids.to_object_id(user_id)},
        {"$push": {"session_ids": {"$each": [str(doc["_id"])], "$slice": -MAX_LIVE_SESSIONS}}},
    )
    return _record(doc)


def find_current(*, db: Db, token_hash: str) -> SessionRecord | None:
    doc = db.sessions.find_one({"token_hash": token_hash})
    return None if doc is None else _record(doc)


def find_replaced(*, db: Db, token_hash: str) -> SessionRecord | None:
    """The family in which ``token_hash`` was once current and has since been rotated."""
    doc = db.sessions.find_one({"previous_hashes": token_hash})
    return None if doc is None else _record(doc)


def rotate(*, db: Db, session: SessionRecord, new_hash: str, now: datetime) -> bool:
    """Swap the current token for ``new_hash``; False when another request rotated first."""
    result = db.sessions.update_one(
        # Compare-and-set on the token we read: exactly one concurrent refresh wins.
        {"_id": ids.to_object_id(session.id), "token_hash": session.token_hash, "revoked_at": None},
        {
            "$set": {
                "token_hash": new_hash,
                "previous_hash": session.token_hash,
                "rotated_at": now,
                "last_used_at": now,
                "expires_at": _expiry(session.absolute_expires_at, now),
            },
            "$push": {
                "previous_hashes": {"$each": [session.token_hash], "$slice": -REMEMBERED_HASHES}
            },
        },
    )
    return bool(result.modified_count == 1)


def revoke(*, db: Db, user_id: str, session_id: str, reason: str, now: datetime) -> None:
    """End one family: its refresh token and every access token issued for it stop working."""
    db.users.update_one({"_id": ids.to_object_id(user_id)}, {"$pull": {"session_ids": session_id}})
    db.sessions.update_one(
        {"_id": ids.to_object_id(session_id), "revoked_at": None},
        {"$set": {"revoked_at": now, "revoked_reason": reason}},
    )


def revoke_all(*, db: Db, user_id: str, reason: str, now: datetime, keep: str | None = None) -> int:
    """Revoke every live family of a user, except ``keep`` (the caller's own session)."""
    ending: dict[str, Any] = (
        {"$set": {"session_ids": []}} if keep is None else {"$pull": {"session_ids": {"$ne": keep}}}
    )
    db.users.update_one({"_id": ids.to_object_id(user_id)}, ending)
    query: dict[str, Any] = {"user_id": user_id, "revoked_at": None}
    if keep is not None:
        query["_id"] = {"$ne": ids.to_object_id(keep)}
    result = db.sessions.update_many(query, {"$set": {"revoked_at": now, "revoked_reason": reason}})
    return int(result.modified_count)
