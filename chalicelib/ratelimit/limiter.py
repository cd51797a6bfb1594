"""Fixed-window rate limits kept in MongoDB.

Counters live in the database, not in process memory, so a limit holds across
Lambda containers and gunicorn workers. One document per (rule, key, window):
an atomic upsert-and-increment counts the hit, a TTL index removes old
windows, and every read checks the window itself (TTL runs about once a minute).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import errors


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window: timedelta

    def describe(self) -> str:
        return f"{self.limit} per {_human(self.window)}"


LOGIN_PER_IP_EMAIL = Rule("login-ip-email", 10, timedelta(minutes=1))
LOGIN_PER_IP = Rule("login-ip", 30, timedelta(minutes=1))
# Failed sign-ins to one email address from clients it does not know (any address),
# counted whether or not an account exists, so the answers cannot tell which do.
# NIST SP 800-63B 5.2.2 caps consecutive failures at 100; the short window slows first.
LOGIN_FAILURES_PER_EMAIL = Rule("login-fail-email", 10, timedelta(minutes=15))
LOGIN_FAILURES_PER_EMAIL_DAY = Rule("login-fail-email-day", 100, timedelta(days=1))
# Failed sign-ins from one known device (a device cookie): its own budget.
LOGIN_FAILURES_PER_DEVICE = Rule("login-fail-device", 10, timedelta(minutes=15))
REGISTER_PER_IP = Rule("register-ip", 5, timedelta(hours=1))
# Keyed by the requester, never by the email asked about: strangers cannot spend
# the owner's requests. The mails one address receives are bounded by the service.
RESET_PER_IP = Rule("reset-ip", 10, timedelta(hours=1))
VERIFY_RESEND_PER_EMAIL = Rule("verify-resend-email", 3, timedelta(hours=1))


class RateLimiter:
    def __init__(self, collection: Any, *, clock: Callable[[], datetime]) -> None:
        self.collection = collection
        self.clock = clock

    def hit(self, rule: Rule, key: str) -> None:
        """Count one attempt; raise ``RateLimited`` once the window's limit is passed."""
        now = self.clock()
        doc_id, window_end = _window(rule, key, now)
        # Its TTL waits one more window, so a hit that straddles the window's end
        # is never deleted between its upsert and its read.
        count = self._increment(doc_id, window_end + rule.window)
        if count > rule.limit:
            raise errors.RateLimited(
                f"Too many attempts: the limit is {rule.describe()}.",
                retry_after=_seconds_until(window_end, now),
            )

    def record(self, rule: Rule, key: str) -> None:
        """Count one event (a failure) without judging it; ``exceeded`` judges the next try."""
        now = self.clock()
        doc_id, window_end = _window(rule, key, now)
        self._increment(doc_id, window_end + rule.window)

    def exceeded(self, rule: Rule, key: str) -> int | None:
        """Seconds until the window ends if its limit is reached, else None. Counts nothing."""
        now = self.clock()
        doc_id, window_end = _window(rule, key, now)
        doc = self.collection.find_one({"_id": doc_id}, {"count": 1})
        if doc is None or int(doc["count"]) < rule.limit:
            return None
        return _seconds_until(window_end, now)

    def clear(self, rule: Rule, key: str) -> None:
        """Forget the current window's count (a password reset forgives the failures)."""
        doc_id, _ = _window(rule, key, self.clock())
        self.collection.delete_one({"_id": doc_id})

    def _increment(self, doc_id: str, expires_at: datetime) -> int:
        from pymongo import ReturnDocument
        from pymongo.errors import DuplicateKeyError

        for _ in range(2):
            try:
                doc = self.collection.find_one_and_update(
                    {"_id": doc_id},
                    {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires_at}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Two first hits raced to insert the window; the loser retries as an update.
                continue
            if doc is not None:
                return int(doc["count"])
            # No document after an upsert: it expired in between. Count afresh.
        raise errors.Unavailable("Could not count the attempt; try again.")


def _window(rule: Rule, key: str, now: datetime) -> tuple[str, datetime]:
    """The counter document of ``key``'s current window, and when that window ends."""
    seconds = int(rule.window.total_seconds())
    start = int(now.timestamp()) // seconds * seconds
    # Keys (addresses, emails) are hashed: counters are not a directory of users.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    # The window is in the id, so a counter never outlives its window's meaning.
    return f"{rule.name}:{digest}:{start}", datetime.fromtimestamp(start + seconds, UTC)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def _human(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        return "day" if days == 1 else f"{days} days"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds} seconds"
