"""The feed under load, in process, against a baseline measured in the same run.

    python -m bench.posts             (make bench)

10,000 posts by 20 authors (avatars set, one or two images per post) sit in the
embedded stand-in. Requests go through Chalice's test client, so the numbers
include routing, validation, the middleware and JSON encoding, but no network.

- ``GET /health`` is the baseline: the fixed cost of one request.
- ``GET /posts?limit=20``: anonymous first page (3 database operations).
- ``GET /posts?limit=20&cursor=…``: a page deep in the feed.
- ``GET /posts?limit=20&tag=…``: a filtered page.

Each line prints requests per second, p50 and p95, and the p50 as a multiple of
the baseline's. Loops are bounded by count and by time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

REQUESTS = 400
TIME_LIMIT_SECONDS = 20.0
POSTS = 10_000
AUTHORS = 20
TAGS = ["sea", "hills", "city", "night", "film", "travel"]


def build() -> tuple[Any, Any]:
    import argon2
    from chalice.test import Client

    from chalicelib import ids
    from chalicelib.composition import Clients, create_app
    from chalicelib.settings import Settings
    from chalicelib.users import repository as users

    settings = Settings.from_env({"DATA_DIR": tempfile.mkdtemp(prefix="snapboard-bench-")})
    hasher = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    current = Clients(settings, password_hasher=hasher)
    # Bulk-load before the indexes exist: the stand-in checks a unique index by
    # scanning, so 25,000 inserts into indexed collections would take minutes.
    db = current.mongo_client[settings.mongodb_db]
    start = datetime.now(UTC) - timedelta(days=365)

    image_docs: list[dict[str, Any]] = []

    def image(owner: str, **extra: Any) -> str:
        image_id = ids.new_object_id()
        image_docs.append(
            {
                "_id": image_id,
                "owner_id": owner,
                "provider": "local",
                "file_id": str(image_id),
                "path": f"/snapboard/users/{owner}/{image_id}.jpg",
                "width": 1200,
                "height": 800,
                "format": "jpeg",
                "size": 180_000,
                "alt": None,
                "status": "attached",
                "post_id": None,
                "avatar_of": None,
                "created_at": start,
                **extra,
            }
        )
        return str(image_id)

    authors = []
    for n in range(AUTHORS):
        user = users.insert_user(
            db=db,
            email=f"author{n}@bench.test",
            username=f"author{n}",
            password_hash=hasher.hash("bench-password-1"),
            display_name=f"Author {n}",
            now=start,
        )
        avatar = image(user.id, avatar_of=user.id)
        users.update_fields(db=db, user_id=user.id, fields={"avatar_image_id": avatar}, now=start)
        authors.append(user.id)
    docs = []
    for n in range(POSTS):
        author = authors[n % AUTHORS]
        post_id = ids.new_object_id()
        gallery = [image(author, post_id=str(post_id)) for _ in range(1 + n % 2)]
        docs.append(
            {
                "_id": post_id,
                "author_id": author,
                "title": f"Post {n}",
                "body": "Words " * 40,
                "tags": [TAGS[n % len(TAGS)]],
                "visibility": "private" if n % 10 == 0 else "public",
                "image_ids": gallery,
                "created_at": start + timedelta(minutes=n),
                "updated_at": start + timedelta(minutes=n),
                "version": 1,
            }
        )
    db.images.insert_many(image_docs)
    db.posts.insert_many(docs)
    assert current.db.posts.count_documents({}) == POSTS  # dev applies the indexes here
    return Client(create_app(current)), current


def measure(label: str, call: Callable[[], int], baseline: float | None) -> float:
    for _ in range(10):  # warm caches and lazy imports
        call()
    timings: list[float] = []
    deadline = time.perf_counter() + TIME_LIMIT_SECONDS
    while len(timings) < REQUESTS and time.perf_counter() < deadline:
        started = time.perf_counter()
        status = call()
        timings.append(time.perf_counter() - started)
        assert status == 200, f"{label}: HTTP {status}"
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[18]
    ratio = "" if baseline is None else f"  {p50 / baseline:6.1f}x baseline"
    print(
        f"{label:<34} {len(timings) / sum(timings):8.0f} req/s  "
        f"p50 {p50 * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms{ratio}"
    )
    return p50


def main() -> None:
    seeding = time.perf_counter()
    client, _ = build()
    print(f"seeded {POSTS} posts by {AUTHORS} authors in {time.perf_counter() - seeding:.1f} s")
    http = client.http
    deep = http.get("/posts?limit=20")
    cursor = deep.json_body["next_cursor"]
    for _ in range(100):  # walk 2,000 posts in
        cursor = http.get(f"/posts?limit=20&cursor={cursor}").json_body["next_cursor"]

    def get(path: str) -> Callable[[], int]:
        return lambda: http.get(path).status_code

    baseline = measure("GET /health (baseline)", get("/health"), None)
    measure("GET /posts?limit=20", get("/posts?limit=20"), baseline)
    measure(
        "GET /posts?limit=20&cursor=<2000 in>", get(f"/posts?limit=20&cursor={cursor}"), baseline
    )
    measure("GET /posts?limit=20&tag=night", get("/posts?limit=20&tag=night"), baseline)


if __name__ == "__main__":
    main()
