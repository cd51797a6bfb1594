"""Document ids at the repository boundary.

Ids cross the API as 24-character hex strings; only repositories turn them into
``ObjectId``. bson is imported on first use, so importing the app (and a
``/health`` probe) never pays for the driver.
"""

from __future__ import annotations

import re
from typing import Any

_HEX_ID = re.compile(r"[0-9a-f]{24}")


def is_valid(value: str) -> bool:
    # fullmatch, not ^...$: "$" also matches before a final newline.
    return bool(_HEX_ID.fullmatch(value))


def to_object_id(value: str) -> Any | None:
    """The ObjectId for a well-formed id string, else None (callers answer 404)."""
    if not isinstance(value, str) or not is_valid(value):
        return None
    from bson import ObjectId

    return ObjectId(value)


def new_object_id() -> Any:
    from bson import ObjectId

    return ObjectId()
