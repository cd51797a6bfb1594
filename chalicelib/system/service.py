"""Readiness: can this process reach what it needs to serve requests?"""

from __future__ import annotations

from typing import Any

from chalicelib import errors
from chalicelib.logs import get_logger

log = get_logger("ready")

RETRY_AFTER_SECONDS = 5


def check_ready(*, mongo_client: Any) -> None:
    """Ping MongoDB; raise ``Unavailable`` when it does not answer in time."""
    from pymongo.errors import PyMongoError

    try:
        mongo_client.admin.command("ping")
    except PyMongoError as exc:
        # The exception names hosts, not credentials; keep only its type.
        log.warning({"event": "not_ready", "reason": type(exc).__name__})
        raise errors.Unavailable(
            "The database is not reachable.", retry_after=RETRY_AFTER_SECONDS, code="not_ready"
        ) from None
