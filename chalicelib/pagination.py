"""Opaque keyset cursors: ``(created_at, id)`` of the last item of a page.

Lists are ordered newest first on ``(created_at, _id)``; a cursor says where
the previous page ended, so the next query starts strictly after it. Unlike
skip/offset, a walk stays correct while new items arrive.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from chalicelib import errors, ids

# Sorted this way, a page is a query with ``after(cursor)`` and a limit.
NEWEST_FIRST = [("created_at", -1), ("_id", -1)]


class Keyed(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


ItemT = TypeVar("ItemT", bound=Keyed)


def encode_cursor(created_at: datetime, item_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names; a 422 on ``cursor`` for anything we did not issue."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, item_id = json.loads(base64.urlsafe_b64decode(padded))
        moment = datetime.fromisoformat(created)
        if not isinstance(item_id, str) or not ids.is_valid(item_id) or moment.tzinfo is None:
            raise ValueError("not a cursor of ours")
        return moment, item_id
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise errors.InvalidInput.field("cursor", "is not a cursor this API returned") from None


def after(position: tuple[datetime, str]) -> dict[str, Any]:
    """The query clause for items strictly after ``position`` in ``NEWEST_FIRST`` order."""
    created_at, last_id = position
    last = ids.to_object_id(last_id)
    return {
        "$or": [
            {"created_at": {"$lt": created_at}},
            {"created_at": created_at, "_id": {"$lt": last}},
        ]
    }


def split_page(items: Sequence[ItemT], limit: int) -> tuple[list[ItemT], str | None]:
    """A page of at most ``limit`` from ``limit + 1`` fetched items, and the next cursor."""
    page = list(items[:limit])
    more = len(items) > limit
    return page, (encode_cursor(page[-1].created_at, page[-1].id) if more else None)
