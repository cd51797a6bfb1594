"""What keeping the embedded database costs: each operation, journaled vs plain mongomock.

    python -m bench.embedded          (make bench)

The same operations, in the same run, on a plain in-memory ``mongomock.MongoClient``
(the baseline) and on ``chalicelib.embedded``'s client, which commits every write
to SQLite before it returns: writes a request makes (a new post, an edit, a rate
limit counter) and a read, which the journal does not touch. The collections hold
the app's indexes (chalicelib/db.py) and 200 posts. Each line prints the median
time per operation on both and the ratio. Loops are bounded by count and by time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OPERATIONS = 500
TIME_LIMIT_SECONDS = 20.0
POSTS = 200


def _operations(db: Any) -> dict[str, Callable[[int], object]]:
    now = datetime.now(UTC)
    posts = [
        db.posts.insert_one(
            {"title": f"Post {n}", "visibility": "public", "tags": ["sea"], "version": 1}
        ).inserted_id
        for n in range(POSTS)
    ]

    def create(n: int) -> object:
        # Into a collection of its own, so the others keep their size throughout.
        return db.drafts.insert_one(
            {"title": f"New {n}", "body": "x", "created_at": now, "tags": ["city"], "version": 1}
        )

    def edit(n: int) -> object:
        return db.posts.update_one(
            {"_id": posts[n % POSTS]}, {"$set": {"title": f"Edit {n}"}, "$inc": {"version": 1}}
        )

    def rate_limit(n: int) -> object:
        return db.rate_limits.find_one_and_update(
            {"_id": f"login:{n % 50}"},
            {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": now + timedelta(minutes=1)}},
            upsert=True,
        )

    def read(n: int) -> object:
        return db.posts.find_one({"_id": posts[n % POSTS]})

    return {
        "insert_one": create,
        "update_one $set/$inc": edit,
        "find_one_and_update upsert": rate_limit,
        "find_one (a read)": read,
    }


def _time(operation: Callable[[int], object]) -> float:
    """Median seconds per call, over the same number of calls on every backend."""
    samples: list[float] = []
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    for n in range(OPERATIONS):
        start = time.perf_counter()
        operation(n)
        samples.append(time.perf_counter() - start)
        if time.monotonic() > deadline:
            raise SystemExit(
                f"bench/embedded.py: {OPERATIONS} calls took over {TIME_LIMIT_SECONDS} s"
            )
    return statistics.median(samples)


def main() -> int:
    import mongomock

    from chalicelib import db as app_db
    from chalicelib import embedded

    with tempfile.TemporaryDirectory(prefix="snapboard-bench-") as data:
        kept = embedded.open_client(Path(data))
        backends: dict[str, Any] = {
            "mongomock": mongomock.MongoClient(tz_aware=True),
            "embedded": kept,
        }
        operations = {}
        for name, client in backends.items():
            database = client.bench
            app_db.ensure_indexes(database)
            operations[name] = _operations(database)
        results: dict[str, dict[str, float]] = {name: {} for name in backends}
        # Interleaved, so a change in the machine's load hits both alike.
        for label in operations["mongomock"]:
            for name in backends:
                results[name][label] = _time(operations[name][label])
        kept.close()

    print(f"{'operation':<30} {'mongomock':>12} {'embedded':>12}   ratio")
    for label in results["mongomock"]:
        plain, journaled = results["mongomock"][label], results["embedded"][label]
        print(
            f"{label:<30} {plain * 1e6:>9.0f} us {journaled * 1e6:>9.0f} us   "
            f"{journaled / plain:5.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
