"""Single-use tokens for email verification and password reset (``tokens`` collection).

Only the SHA-256 of a token is stored. Consuming is one atomic
``find_one_and_update`` conditioned on "unused and unexpired", so a token works
exactly once even when two requests race with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from chalicelib.auth import tokens

Db = Any
Purpose = Literal["verify_email", "reset_password"]

LIFETIMES: dict[Purpose, timedelta] = {
    "verify_email": timedelta(hours=24),
    "reset_password": timedelta(hours=1),
}


def issue(
    *, db: Db, user_id: str, purpose: Purpose, now: datetime, keep_earlier: bool = False
) -> str:
    """A fresh token for ``purpose``; earlier unused ones stop working unless ``keep_earlier``."""
    if not keep_earlier:
        spend_all(db=db, user_id=user_id, purpose=purpose, now=now)
    secret = tokens.new_secret()
    db.tokens.insert_one(
        {
            "token_hash": tokens.digest(secret),
            "user_id": user_id,
            "purpose": purpose,
            "created_at": now,
            "expires_at": now + LIFETIMES[purpose],
            "used_at": None,
        }
    )
    return secret


def _valid(token: str, purpose: Purpose, now: datetime) -> dict[str, Any]:
    return {
        "token_hash": tokens.digest(token),
        "purpose": purpose,
        "used_at": None,
        "expires_at": {"$gt": now},
    }


def issued_since(*, db: Db, user_id: str, purpose: Purpose, since: datetime) -> bool:
    """Whether a token for ``purpose`` was issued after ``since`` and is still unused."""
    query = {"user_id": user_id, "purpose": purpose, "used_at": None, "created_at": {"$gt": since}}
    return db.tokens.find_one(query, {"_id": 1}) is not None


def spend_all(*, db: Db, user_id: str, purpose: Purpose, now: datetime) -> None:
    """Every unused token of ``user_id`` for ``purpose`` stops working."""
    db.tokens.update_many(
        {"user_id": user_id, "purpose": purpose, "used_at": None},
        {"$set": {"used_at": now, "superseded": True}},
    )


def holder(*, db: Db, token: str, purpose: Purpose, now: datetime) -> str | None:
    """The user id a valid token was issued to, without spending it."""
    doc = db.tokens.find_one(_valid(token, purpose, now), {"user_id": 1})
    return None if doc is None else str(doc["user_id"])


def consume(*, db: Db, token: str, purpose: Purpose, now: datetime) -> str | None:
    """The user id the token was issued to, if it is valid; it is then spent."""
    doc = db.tokens.find_one_and_update(_valid(token, purpose, now), {"$set": {"used_at": now}})
    return None if doc is None else str(doc["user_id"])
