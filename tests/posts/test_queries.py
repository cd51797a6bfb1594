"""A page of the feed costs a fixed number of database operations, whatever its size."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.composition import Clients
from tests.accounts import Accounts, Session
from tests.querycount import Counter
from tests.support import Http

# posts, their authors, and every image on the page (gallery images and avatars).
PAGE_OPERATIONS = 3


@pytest.fixture
def svc(counting_svc: Clients) -> Clients:
    """The app of this module's tests counts every database operation it makes."""
    return counting_svc


@pytest.fixture
def busy_feed(
    counted: Counter, accounts: Accounts, client: Http, upload: Callable[[Session], str]
) -> list[Session]:
    authors = [accounts.signup(name) for name in ("ann", "bob", "cat", "dan")]
    for session in authors:
        avatar = upload(session)
        assert (
            client.put(
                "/users/me/avatar", json={"image_id": avatar}, headers=session.headers
            ).status
            == 200
        )
        for n in range(8):
            images = [upload(session), upload(session)]
            visibility = "private" if n % 4 == 0 else "public"
            body = {
                "title": f"Post {n}",
                "image_ids": images,
                "tags": ["sea"],
                "visibility": visibility,
            }
            assert client.post("/posts", json=body, headers=session.headers).status == 201
    return authors


@pytest.mark.parametrize("limit", [1, 5, 20, 100])
def test_an_anonymous_page_costs_three_operations(
    client: Http, busy_feed: list[Session], counted: Counter, limit: int
) -> None:
    counted.reset()
    reply = client.get(f"/posts?limit={limit}")
    items = reply.json["items"]
    assert len(items) == min(limit, 24)
    assert all(item["author"]["avatar"] is not None for item in items)
    assert sum(len(item["images"]) for item in items) == 2 * len(items)
    assert counted.count <= PAGE_OPERATIONS, counted.calls


@pytest.mark.parametrize("query", ["tag=sea", "q=post", "author=bob"])
def test_filtered_pages_cost_the_same(
    client: Http, busy_feed: list[Session], counted: Counter, query: str
) -> None:
    counted.reset()
    assert client.get(f"/posts?limit=50&{query}").status == 200
    assert counted.count <= PAGE_OPERATIONS, counted.calls


def test_a_signed_in_page_adds_only_the_read_that_authenticates(
    client: Http, busy_feed: list[Session], counted: Counter
) -> None:
    counted.reset()
    reply = client.get("/posts?limit=100", headers=busy_feed[0].headers)
    assert len(reply.json["items"]) == 26  # 24 public + ann's own 2 private posts
    assert counted.count <= PAGE_OPERATIONS + 1, counted.calls
    assert counted.calls[0] == ("users", "find_one")


def test_a_conditional_get_that_misses_reads_the_post_once(
    client: Http, accounts: Accounts, counted: Counter
) -> None:
    ann = accounts.signup("ann")
    post = client.post("/posts", json={"title": "Harbour"}, headers=ann.headers).json
    counted.reset()
    reply = client.get(f"/posts/{post['id']}", headers={"If-None-Match": '"v0"'})
    assert reply.status == 200
    assert counted.calls.count(("posts", "find_one")) == 1
