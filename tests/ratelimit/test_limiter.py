from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.ratelimit.limiter import RateLimiter, Rule
from tests.support import FakeClock

RULE = Rule("test", 3, timedelta(minutes=1))


@pytest.fixture
def limiter(db: Any, clock: FakeClock) -> RateLimiter:
    return RateLimiter(db.rate_limits, clock=clock)


def test_the_limit_admits_exactly_n_per_window(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.hit(RULE, "k")
    with pytest.raises(errors.RateLimited) as caught:
        limiter.hit(RULE, "k")
    assert 1 <= caught.value.retry_after <= 60


def test_keys_are_counted_apart(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.hit(RULE, "a")
    limiter.hit(RULE, "b")
    with pytest.raises(errors.RateLimited):
        limiter.hit(RULE, "a")
    limiter.hit(RULE, "b")
    limiter.hit(RULE, "b")
    with pytest.raises(errors.RateLimited):
        limiter.hit(RULE, "b")


def test_a_new_window_starts_fresh(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(3):
        limiter.hit(RULE, "k")
    clock.advance(minutes=1)
    limiter.hit(RULE, "k")
    limiter.hit(RULE, "k")
    limiter.hit(RULE, "k")
    with pytest.raises(errors.RateLimited):
        limiter.hit(RULE, "k")


def test_retry_after_counts_down_to_the_window_end(limiter: RateLimiter, clock: FakeClock) -> None:
    clock.now = clock.now.replace(second=0) + timedelta(seconds=45)
    for _ in range(3):
        limiter.hit(RULE, "k")
    with pytest.raises(errors.RateLimited) as caught:
        limiter.hit(RULE, "k")
    assert caught.value.retry_after == 15


def test_counters_expire_with_their_window_and_keep_no_raw_keys(
    limiter: RateLimiter, db: Any, clock: FakeClock
) -> None:
    limiter.hit(RULE, "ann@example.com")
    [doc] = db.rate_limits.find()
    assert "ann@example.com" not in str(doc)
    assert clock.now + timedelta(minutes=1) <= doc["expires_at"] <= clock.now + timedelta(minutes=2)
    ttl = [i for i in db.rate_limits.list_indexes() if "expireAfterSeconds" in i]
    assert ttl


def test_a_hit_as_its_window_ends_by_the_wall_clock_is_counted(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    # The service's clock read 0.999 s before the window's end; the database (here the
    # stand-in, whose TTL runs on the wall clock at every read) works just after it.
    # A TTL of exactly the window's end once deleted the counter between the upsert and
    # its read: a 500 on login.
    hourly = Rule("hourly", 3, timedelta(hours=1))  # an hour: the run never outlasts the margin
    window_end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    clock.now = window_end - timedelta(milliseconds=999)
    for _ in range(3):
        limiter.hit(hourly, "k")
    with pytest.raises(errors.RateLimited):
        limiter.hit(hourly, "k")


def test_a_lost_insert_race_is_retried_as_an_update(db: Any, clock: FakeClock) -> None:
    from pymongo.errors import DuplicateKeyError

    class RacingCollection:
        """Raises DuplicateKeyError once, as a concurrent first insert would."""

        def __init__(self, real: Any) -> None:
            self.real = real
            self.raced = False

        def find_one_and_update(self, *args: Any, **kwargs: Any) -> Any:
            if not self.raced:
                self.raced = True
                self.real.find_one_and_update(*args, **kwargs)  # the other request's insert
                raise DuplicateKeyError("E11000")
            return self.real.find_one_and_update(*args, **kwargs)

    racing = RacingCollection(db.rate_limits)
    RateLimiter(racing, clock=clock).hit(RULE, "k")
    [doc] = db.rate_limits.find()
    assert doc["count"] == 2


def test_recorded_events_are_judged_by_exceeded_which_counts_nothing(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    for _ in range(2):
        limiter.record(RULE, "k")
    assert limiter.exceeded(RULE, "k") is None
    assert limiter.exceeded(RULE, "k") is None  # looking is free
    limiter.record(RULE, "k")
    wait = limiter.exceeded(RULE, "k")
    assert wait is not None
    assert 1 <= wait <= 60
    assert limiter.exceeded(RULE, "other") is None
    clock.advance(minutes=1)
    assert limiter.exceeded(RULE, "k") is None


def test_clear_forgets_the_current_window(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.record(RULE, "k")
        limiter.record(RULE, "other")
    limiter.clear(RULE, "k")
    assert limiter.exceeded(RULE, "k") is None
    assert limiter.exceeded(RULE, "other") is not None
