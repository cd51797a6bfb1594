"""The mixed load of `make load`: what each virtual user does (bench/load.py runs it).

Of every 100 requests, 70 are feed pages, 20 post reads and 10 writes: 4 logins
and 3 posts with an image (an upload and the post, two requests each). Every user
is one of the demo people (the data set every embedded store starts with), signed
in before the load starts (bench/load.py passes the tokens in LOAD_SESSIONS), and
sends its token with each request, as the web app does.

Each virtual user is one client behind nginx: its requests carry its own address
in ``X-Forwarded-For``, which the shim believes from loopback (``TRUSTED_PROXIES``),
exactly as it believes nginx. Each login comes from a new address, a person
signing in from another device: the login limits (10 a minute per address and
email, 30 per address) are meant for one client, and a whole load from a single
address would rightly be refused within seconds.

Any answer other than the expected status is a failure named ``HTTP <status>``,
so bench/load.py can count errors by status. Locust is installed by `make load`
only (requirements-load.txt), so this file is outside mypy's and vulture's paths.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import random
from typing import Any

from locust import HttpUser, constant_throughput, task
from PIL import Image

from chalicelib.demo import DEMO_PASSWORD, TAGS

# Requests per second each virtual user aims at (load.py passes LOAD_USER_RPS).
USER_RPS = float(os.environ.get("LOAD_USER_RPS", "2"))
FEED_PAGES = 3  # a reader scrolls this deep, then starts again at the top

_addresses = itertools.count(1)
# {email: access token}, signed in by bench/load.py before the load starts.
_sessions = itertools.cycle(json.loads(os.environ["LOAD_SESSIONS"]).items())


def _new_address() -> str:
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _photo() -> bytes:
    buffer = io.BytesIO()
    colour = tuple(random.randrange(256) for _ in range(3))
    Image.new("RGB", (320, 240), colour).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


class Reader(HttpUser):
    wait_time = constant_throughput(USER_RPS)

    def on_start(self) -> None:
        self.email, self.token = next(_sessions)
        self.address = _new_address()
        self.cursor: str | None = None
        self.pages = 0
        self.seen: list[tuple[str, str | None]] = []  # (post id, its ETag once read)

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "X-Forwarded-For": self.address,
            "Authorization": f"Bearer {self.token}",
            **extra,
        }

    def send(self, method: str, path: str, *, name: str, expect: tuple[int, ...], **kw: Any) -> Any:
        with self.client.request(method, path, name=name, catch_response=True, **kw) as reply:
            if reply.status_code in expect:
                reply.success()
                return reply
            reply.failure(f"HTTP {reply.status_code}")
            return None

    @task(70)
    def feed_page(self) -> None:
        if self.pages >= FEED_PAGES or (self.pages and self.cursor is None):
            self.cursor, self.pages = None, 0
        params: dict[str, str] = {"limit": "20"}
        if self.cursor:
            params["cursor"] = self.cursor
        elif random.random() < 0.2:
            params["tag"] = random.choice(TAGS)
        reply = self.send(
            "GET", "/posts", name="GET /posts", expect=(200,), params=params, headers=self.headers()
        )
        if reply is not None:
            page = reply.json()
            self.cursor, self.pages = page["next_cursor"], self.pages + 1
            fresh = [(item["id"], None) for item in page["items"]]
            self.seen = (fresh + self.seen)[:200]

    @task(20)
    def read_post(self) -> None:
        if not self.seen:
            return self.feed_page()
        index = random.randrange(len(self.seen))
        post_id, etag = self.seen[index]
        extra = {"If-None-Match": etag} if etag and random.random() < 0.5 else {}
        reply = self.send(
            "GET",
            f"/posts/{post_id}",
            name="GET /posts/{id}",
            expect=(200, 304),
            headers=self.headers(**extra),
        )
        if reply is not None:
            self.seen[index] = (post_id, reply.headers.get("ETag"))
        return None

    @task(4)
    def login(self) -> None:
        self.address = _new_address()
        reply = self.send(
            "POST",
            "/auth/login",
            name="POST /auth/login",
            expect=(200,),
            json={"email": self.email, "password": DEMO_PASSWORD},
            headers={"X-Forwarded-For": self.address},
        )
        if reply is not None:
            self.token = reply.json()["access_token"]

    @task(3)
    def post_with_an_image(self) -> None:
        upload = self.send(
            "POST",
            "/images",
            name="POST /images",
            expect=(201,),
            data=_photo(),
            headers=self.headers(**{"Content-Type": "image/jpeg"}),
        )
        if upload is None:
            return
        body = {
            "title": f"Load test {random.randrange(10**6)}",
            "body": "Posted by make load.",
            "tags": random.sample(TAGS, 2),
            "image_ids": [upload.json()["id"]],
        }
        created = self.send(
            "POST", "/posts", name="POST /posts", expect=(201,), json=body, headers=self.headers()
        )
        if created is not None:
            self.seen.insert(0, (created.json()["id"], created.headers.get("ETag")))
