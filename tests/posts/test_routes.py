"""Posts through HTTP: the feed, visibility, concurrency control, galleries."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from chalicelib.composition import Clients
from chalicelib.pagination import encode_cursor
from chalicelib.posts import service
from chalicelib.posts.models import PostCreate
from chalicelib.principal import Principal
from tests.accounts import Accounts, Session
from tests.posts.conftest import png
from tests.support import FakeClock, Http

Publish = Callable[..., dict[str, Any]]
Upload = Callable[[Session], str]


def principal(session: Session) -> Principal:
    user = session.user
    return Principal(user["id"], user["username"], frozenset(user["roles"]), user["email_verified"])


# --------------------------------------------------------------------- create


def test_a_verified_user_creates_a_post(client: Http, ann: Session) -> None:
    reply = client.post(
        "/posts",
        json={"title": " Harbour at dawn ", "body": "Mist.", "tags": ["Sea", "dawn", "sea"]},
        headers=ann.headers,
    )
    assert reply.status == 201
    post = reply.json
    assert reply.headers["location"] == f"/posts/{post['id']}"
    assert reply.headers["etag"] == '"v1"'
    assert post["title"] == "Harbour at dawn"
    assert post["tags"] == ["sea", "dawn"]
    assert post["visibility"] == "public"
    assert post["author"] == {
        "id": ann.user["id"],
        "username": "ann",
        "display_name": "ann",
        "avatar": None,
    }
    assert post["version"] == 1
    assert client.get(f"/posts/{post['id']}").json == post


def test_an_unverified_user_may_not_post(client: Http, accounts: Accounts) -> None:
    session = accounts.signup("una", verified=False)
    reply = client.post("/posts", json={"title": "x"}, headers=session.headers)
    assert reply.status == 403
    assert reply.problem["code"] == "email_not_verified"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 141}, "title"),
        ({"title": "x", "body": "b" * 10_001}, "body"),
        ({"title": "x", "tags": ["ok"] * 11}, "tags"),
        ({"title": "x", "tags": ["no spaces"]}, "tags"),
        ({"title": "x", "tags": ["x" * 31]}, "tags"),
        ({"title": "x", "visibility": "secret"}, "visibility"),
        ({"title": "x", "image_ids": ["not-an-id"]}, "image_ids.0"),
        ({"title": "x", "image_ids": ["a" * 24] * 2}, "image_ids"),
        ({"title": "x", "image_ids": [f"{n:024x}" for n in range(21)]}, "image_ids"),
        ({"title": {"$gt": ""}}, "title"),
        ({"title": "x", "tags": [{"$ne": None}]}, "tags.0"),
        ({"title": "x", "author_id": "someone"}, "author_id"),
    ],
)
def test_invalid_posts_are_422_naming_the_field(
    client: Http, ann: Session, svc: Clients, body: dict[str, Any], field: str
) -> None:
    reply = client.post("/posts", json=body, headers=ann.headers)
    assert reply.status == 422
    assert field in {e["field"] for e in reply.problem["errors"]}
    assert svc.db.posts.count_documents({}) == 0


# ---------------------------------------------------------------- visibility

VISIBILITY = [
    # visibility, anonymous, author, other user, admin
    ("public", 200, 200, 200, 200),
    ("private", 404, 200, 404, 200),
    ("draft", 404, 200, 404, 200),
]


@pytest.mark.parametrize(("visibility", "anonymous", "author", "other", "admin"), VISIBILITY)
def test_who_can_read_a_post(
    client: Http,
    publish: Publish,
    ann: Session,
    bob: Session,
    ada: Session,
    visibility: str,
    anonymous: int,
    author: int,
    other: int,
    admin: int,
) -> None:
    post = publish(ann, visibility=visibility)
    path = f"/posts/{post['id']}"
    for headers, expected in (
        ({}, anonymous),
        (ann.headers, author),
        (bob.headers, other),
        (ada.headers, admin),
    ):
        assert client.get(path, headers=headers).status == expected


FEED = [
    # visibility, anonymous, author, other user, admin: the feed is public posts plus
    # your own; admins read others' private posts by id, not in the feed.
    ("public", True, True, True, True),
    ("private", False, True, False, False),
    ("draft", False, True, False, False),
]


@pytest.mark.parametrize(("visibility", "anonymous", "author", "other", "admin"), FEED)
def test_who_sees_a_post_in_the_feed(
    client: Http,
    publish: Publish,
    ann: Session,
    bob: Session,
    ada: Session,
    visibility: str,
    anonymous: bool,
    author: bool,
    other: bool,
    admin: bool,
) -> None:
    post = publish(ann, visibility=visibility)
    for headers, shown in (
        ({}, anonymous),
        (ann.headers, author),
        (bob.headers, other),
        (ada.headers, admin),
    ):
        ids = [p["id"] for p in client.get("/posts", headers=headers).json["items"]]
        assert (post["id"] in ids) is shown


def test_a_malformed_id_is_a_404_problem(client: Http) -> None:
    for post_id in ("nope", "0" * 24, "' OR 1=1"):
        reply = client.get(f"/posts/{post_id}")
        assert reply.status == 404
        assert reply.problem["code"] == "not_found"


# ------------------------------------------------------------- ETags, 304, 412


def test_if_none_match_answers_304_until_the_post_changes(
    client: Http, publish: Publish, ann: Session
) -> None:
    post = publish(ann)
    path = f"/posts/{post['id']}"
    etag = client.get(path).headers["etag"]
    not_modified = client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status == 304
    assert not_modified.body == b""
    assert not_modified.headers["etag"] == etag
    client.patch(path, json={"title": "New"}, headers=ann.headers)
    assert client.get(path, headers={"If-None-Match": etag}).status == 200


@pytest.mark.parametrize(
    "header", ['W/"{tag}"', "*", '"v0", {etag}', '"v0",W/"{tag}"', " , {etag} ,"]
)
def test_if_none_match_compares_weakly_takes_lists_and_star(
    client: Http, publish: Publish, ann: Session, header: str
) -> None:
    post = publish(ann)
    path = f"/posts/{post['id']}"
    etag = client.get(path).headers["etag"]
    sent = header.format(etag=etag, tag=etag.strip('"'))
    reply = client.get(path, headers={"If-None-Match": sent})
    assert reply.status == 304
    assert reply.headers["etag"] == etag


def test_head_of_a_post_answers_its_etag_and_no_content(
    client: Http, publish: Publish, ann: Session
) -> None:
    post = publish(ann)
    path = f"/posts/{post['id']}"
    etag = client.get(path).headers["etag"]
    head = client.request("HEAD", path)
    assert (head.status, head.body, head.headers["etag"]) == (200, b"", etag)
    assert client.request("HEAD", path, headers={"If-None-Match": etag}).status == 304
    assert client.request("HEAD", "/posts").status == 200


@pytest.mark.parametrize("header", ['"v0"', 'W/"v0", "v9"', "v1", '"v1'])
def test_if_none_match_of_other_or_garbled_tags_answers_the_post(
    client: Http, publish: Publish, ann: Session, header: str
) -> None:
    post = publish(ann)
    assert client.get(f"/posts/{post['id']}", headers={"If-None-Match": header}).status == 200


@pytest.mark.parametrize(
    ("header", "status"),
    [('"v1"', 200), ('"v0", "v1"', 200), ("*", 200), ('W/"v1"', 412), ('"v0"', 412)],
)
def test_if_match_compares_strongly(
    client: Http, publish: Publish, ann: Session, header: str, status: int
) -> None:
    post = publish(ann)
    reply = client.patch(
        f"/posts/{post['id']}", json={"title": "New"}, headers={**ann.headers, "If-Match": header}
    )
    assert reply.status == status


def test_a_stale_if_match_is_a_412_and_changes_nothing(
    client: Http, publish: Publish, ann: Session
) -> None:
    post = publish(ann)
    path = f"/posts/{post['id']}"
    first = client.patch(path, json={"title": "One"}, headers={**ann.headers, "If-Match": '"v1"'})
    assert first.status == 200
    assert first.headers["etag"] == '"v2"'
    stale = client.patch(path, json={"title": "Two"}, headers={**ann.headers, "If-Match": '"v1"'})
    assert stale.status == 412
    assert stale.problem["code"] == "stale_etag"
    assert client.get(path).json["title"] == "One"


def test_patch_changes_only_what_is_sent(client: Http, publish: Publish, ann: Session) -> None:
    post = publish(ann, body="Keep me", tags=["a"])
    reply = client.patch(f"/posts/{post['id']}", json={"visibility": "draft"}, headers=ann.headers)
    assert reply.json["body"] == "Keep me"
    assert reply.json["tags"] == ["a"]
    assert reply.json["visibility"] == "draft"
    assert reply.json["version"] == 2


@pytest.mark.parametrize(("method", "body"), [("PATCH", {"title": "mine now"}), ("DELETE", None)])
def test_only_the_author_or_an_admin_changes_a_post(
    client: Http, publish: Publish, ann: Session, bob: Session, ada: Session, method: str, body: Any
) -> None:
    post = publish(ann)
    path = f"/posts/{post['id']}"
    assert client.request(method, path, json=body).status == 401
    assert client.request(method, path, json=body, headers=bob.headers).status == 403
    assert client.request(method, path, json=body, headers=ada.headers).status in (200, 204)


def test_delete_removes_the_post(client: Http, publish: Publish, ann: Session) -> None:
    post = publish(ann)
    assert client.delete(f"/posts/{post['id']}", headers=ann.headers).status == 204
    assert client.get(f"/posts/{post['id']}").status == 404
    assert client.delete(f"/posts/{post['id']}", headers=ann.headers).status == 404


# ------------------------------------------------------------------ galleries


def test_a_post_embeds_its_images_in_order(
    client: Http, publish: Publish, upload: Upload, ann: Session
) -> None:
    first, second = upload(ann), upload(ann)
    post = publish(ann, image_ids=[second, first])
    assert [image["id"] for image in post["images"]] == [second, first]
    image = post["images"][0]
    assert image["url"].startswith("http")
    assert set(image["variants"]) == {"thumb", "card", "full"}


def test_an_invalid_image_creates_nothing_and_attaches_nothing(
    client: Http, upload: Upload, ann: Session, bob: Session, svc: Clients
) -> None:
    mine = upload(ann)
    theirs = upload(bob)
    reply = client.post(
        "/posts", json={"title": "x", "image_ids": [mine, theirs]}, headers=ann.headers
    )
    assert reply.status == 422
    assert [e["field"] for e in reply.problem["errors"]] == ["image_ids.1"]
    assert svc.db.posts.count_documents({}) == 0
    statuses = {str(d["_id"]): d["status"] for d in svc.db.images.find()}
    assert statuses == {mine: "pending", theirs: "pending"}


def test_an_image_attached_elsewhere_cannot_be_reused(
    client: Http, publish: Publish, upload: Upload, ann: Session
) -> None:
    image = upload(ann)
    publish(ann, image_ids=[image])
    reply = client.post(
        "/posts", json={"title": "again", "image_ids": [image]}, headers=ann.headers
    )
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == "image_ids.0"


def test_editing_the_gallery_attaches_new_and_releases_removed_images(
    client: Http, publish: Publish, upload: Upload, ann: Session, svc: Clients
) -> None:
    keep, drop, add = upload(ann), upload(ann), upload(ann)
    dropped_file = media_file(svc, drop)
    post = publish(ann, image_ids=[keep, drop])
    reply = client.patch(
        f"/posts/{post['id']}", json={"image_ids": [add, keep]}, headers=ann.headers
    )
    assert reply.status == 200
    assert [i["id"] for i in reply.json["images"]] == [add, keep]
    statuses = {str(d["_id"]): d["status"] for d in svc.db.images.find()}
    # The dropped image's file is deleted from the store and its record forgotten.
    assert statuses == {keep: "attached", add: "attached"}
    assert not dropped_file.exists()
    assert media_file(svc, keep).exists()


def media_file(svc: Clients, image_id: str) -> Path:
    """Where the local store keeps the file of ``image_id``."""
    doc: Any = svc.db.images.find_one({"_id": ObjectId(image_id)})
    relative: str = doc["path"].lstrip("/")
    return Path(svc.settings.data_dir) / "media" / relative


def test_a_stale_gallery_edit_attaches_nothing(
    client: Http, publish: Publish, upload: Upload, ann: Session, svc: Clients
) -> None:
    post = publish(ann)
    client.patch(f"/posts/{post['id']}", json={"title": "v2"}, headers=ann.headers)
    image = upload(ann)
    stale = client.patch(
        f"/posts/{post['id']}",
        json={"image_ids": [image]},
        headers={**ann.headers, "If-Match": '"v1"'},
    )
    assert stale.status == 412
    assert svc.db.images.find_one({})["status"] == "pending"  # type: ignore[index]


def test_deleting_a_post_deletes_its_images(
    client: Http, publish: Publish, upload: Upload, ann: Session, svc: Clients
) -> None:
    image = upload(ann)
    post = publish(ann, image_ids=[image])
    file = media_file(svc, image)
    assert file.exists()
    client.delete(f"/posts/{post['id']}", headers=ann.headers)
    assert svc.db.images.count_documents({}) == 0
    assert not file.exists()
    assert client.get(f"/images/{image}", headers=ann.headers).status == 404


def test_images_of_private_posts_get_signed_expiring_urls(
    client: Http, publish: Publish, upload: Upload, ann: Session
) -> None:
    public = publish(ann, image_ids=[upload(ann)])
    private = publish(ann, image_ids=[upload(ann)], visibility="private")
    # Every URL is signed; only those of public posts do not expire.
    assert "ik-s=" in public["images"][0]["url"]
    assert "ik-t=" not in public["images"][0]["url"]
    assert "ik-s=" in private["images"][0]["url"]
    assert "ik-t=" in private["images"][0]["variants"]["thumb"]


# ------------------------------------------------- leaving public view


def media(url: str) -> str:
    """The path to GET on the app for an absolute local-store URL."""
    return "/media/" + url.split("/media/", 1)[1]


def fetch(client: Http, url: str) -> Any:
    return client.get(media(url), headers={"Accept": "image/*,*/*;q=0.8"})


def urls_of(post: dict[str, Any]) -> list[str]:
    return [
        url
        for image in post["images"]
        for url in (image["url"], image["placeholder"], *image["variants"].values())
    ]


@pytest.mark.parametrize("visibility", ["private", "draft"])
def test_a_public_post_made_private_stops_every_url_it_handed_out(
    client: Http, publish: Publish, upload: Upload, ann: Session, svc: Clients, visibility: str
) -> None:
    post = publish(ann, image_ids=[upload(ann), upload(ann)])
    old = urls_of(post)
    for url in old:
        reply = fetch(client, url)
        assert reply.status == 200
        assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"
    changed = client.patch(
        f"/posts/{post['id']}", json={"visibility": visibility}, headers=ann.headers
    )
    assert changed.status == 200
    for url in old:
        assert fetch(client, url).status == 404
    for url in urls_of(changed.json):
        assert "ik-t=" in url
        reply = fetch(client, url)
        assert reply.status == 200
        assert reply.headers["cache-control"].startswith("private, max-age=")
    assert svc.db.images.count_documents({"conceal_to": {"$exists": True}}) == 0


def test_a_private_posts_image_needs_a_valid_unexpired_signature(
    client: Http, publish: Publish, upload: Upload, ann: Session, svc: Clients
) -> None:
    post = publish(ann, image_ids=[upload(ann)])
    private = client.patch(
        f"/posts/{post['id']}", json={"visibility": "private"}, headers=ann.headers
    ).json
    url = private["images"][0]["variants"]["card"]
    path, _, query = media(url).partition("?")
    unsigned = client.get(f"{path}?{query.split('&')[0]}", headers={"Accept": "image/*"})
    assert unsigned.status == 403
    assert unsigned.problem["code"] == "unsigned_url"
    tampered = url.replace("w-640", "w-641")
    assert fetch(client, tampered).problem["code"] == "bad_signature"
    stored = path.removeprefix("/media")
    expired = svc.image_store.url(stored, transformation="w-640,f-auto", expires_in=-1)
    assert fetch(client, expired).problem["code"] == "signature_expired"


def test_a_private_post_made_public_again_keeps_working(
    client: Http, publish: Publish, upload: Upload, ann: Session
) -> None:
    post = publish(ann, image_ids=[upload(ann)], visibility="draft")
    published = client.patch(
        f"/posts/{post['id']}", json={"visibility": "public"}, headers=ann.headers
    ).json
    for url in urls_of(published):
        assert "ik-t=" not in url
        assert fetch(client, url).status == 200


def test_a_feed_that_read_the_post_while_public_hands_out_no_lasting_url_to_its_new_files(
    client: Http, publish: Publish, upload: Upload, ann: Session, svc: Clients
) -> None:
    from chalicelib.posts import repository

    post = publish(ann, image_ids=[upload(ann)])
    seen_public = repository.get(db=svc.db, post_id=post["id"])  # a feed's read, just before
    assert seen_public is not None
    client.patch(f"/posts/{post['id']}", json={"visibility": "private"}, headers=ann.headers)
    # ...and its read of the images, just after the files were renamed.
    (rendered,) = service.render(db=svc.db, image_store=svc.image_store, records=[seen_public])
    assert all("ik-t=" in url for url in urls_of(rendered.model_dump()))


def test_a_post_made_private_then_public_again_gets_lasting_urls_again(
    client: Http, publish: Publish, upload: Upload, ann: Session
) -> None:
    post = publish(ann, image_ids=[upload(ann)])
    path = f"/posts/{post['id']}"
    client.patch(path, json={"visibility": "private"}, headers=ann.headers)
    public = client.patch(path, json={"visibility": "public"}, headers=ann.headers).json
    for url in urls_of(public):
        assert "ik-t=" not in url
        assert fetch(client, url).status == 200


def ik_upload(client: Http, session: Session) -> str:
    reply = client.post(
        "/images", body=png(), headers={**session.headers, "Content-Type": "image/png"}
    )
    assert reply.status == 201, reply.body
    image_id: str = reply.json["id"]
    return image_id


def image_doc(svc: Clients, image_id: str) -> dict[str, Any]:
    doc: dict[str, Any] | None = svc.db.images.find_one({"_id": ObjectId(image_id)})
    assert doc is not None
    return doc


def renames_sent(router: Any) -> list[dict[str, Any]]:
    return [
        json.loads(call.request.content)
        for call in router.calls
        if call.request.url.path == "/v1/files/rename"
    ]


def test_on_imagekit_a_post_made_private_renames_its_files_and_purges_the_old_urls(
    imagekit_client: Http, fake_imagekit: Any, ann: Session, svc: Clients
) -> None:
    fake, router = fake_imagekit
    ids = [ik_upload(imagekit_client, ann) for _ in range(2)]
    post = imagekit_client.post(
        "/posts", json={"title": "t", "image_ids": ids}, headers=ann.headers
    ).json
    before = {i: image_doc(svc, i)["path"] for i in ids}
    reply = imagekit_client.patch(
        f"/posts/{post['id']}", json={"visibility": "private"}, headers=ann.headers
    )
    assert reply.status == 200
    sent = renames_sent(router)
    assert [r["filePath"] for r in sent] == [before[i] for i in ids]
    assert all(r["purgeCache"] is True for r in sent)
    for image_id, rename in zip(ids, sent, strict=True):
        doc = image_doc(svc, image_id)
        assert doc["path"] == before[image_id].rsplit("/", 1)[0] + "/" + rename["newFileName"]
        assert fake.files[doc["file_id"]]["filePath"] == doc["path"]
        assert f"https://ik.imagekit.io/snapboard{before[image_id]}*" in fake.purged
    for url in urls_of(reply.json):
        assert "ik-t=" in url
        assert not any(old in url for old in before.values())


def test_on_imagekit_a_rename_failing_half_way_is_consistent_and_retried(
    imagekit_client: Http, fake_imagekit: Any, ann: Session, svc: Clients
) -> None:
    fake, router = fake_imagekit
    ids = [ik_upload(imagekit_client, ann) for _ in range(2)]
    post = imagekit_client.post(
        "/posts", json={"title": "t", "image_ids": ids}, headers=ann.headers
    ).json
    first, second = (image_doc(svc, i)["path"] for i in ids)
    fake.script["rename"] = [0, 500]
    reply = imagekit_client.patch(
        f"/posts/{post['id']}", json={"visibility": "private"}, headers=ann.headers
    )
    assert reply.status == 502
    assert reply.problem["code"] == "image_store_failed"
    # The post is private (the safe side); one file is renamed and recorded,
    # the other still has its planned name, and the record still matches the store.
    assert svc.db.posts.find_one({})["visibility"] == "private"  # type: ignore[index]
    done, pending = image_doc(svc, ids[0]), image_doc(svc, ids[1])
    assert done["path"] != first
    assert "conceal_to" not in done
    assert pending["path"] == second
    assert fake.files[pending["file_id"]]["filePath"] == second
    planned = pending["conceal_to"]
    retried = imagekit_client.patch(
        f"/posts/{post['id']}", json={"visibility": "private"}, headers=ann.headers
    )
    assert retried.status == 200
    assert image_doc(svc, ids[1])["path"] == second.rsplit("/", 1)[0] + "/" + planned
    assert renames_sent(router)[-1] == {
        "filePath": second,
        "newFileName": planned,
        "purgeCache": True,
    }


def test_the_sweep_finishes_renames_a_failed_request_left(
    imagekit_client: Http,
    imagekit_store: Any,
    fake_imagekit: Any,
    ann: Session,
    svc: Clients,
    clock: FakeClock,
) -> None:
    from chalicelib.images import service as image_service

    fake, _ = fake_imagekit
    image_id = ik_upload(imagekit_client, ann)
    post = imagekit_client.post(
        "/posts", json={"title": "t", "image_ids": [image_id]}, headers=ann.headers
    ).json
    old = image_doc(svc, image_id)["path"]
    fake.fail["rename"] = 503
    reply = imagekit_client.patch(
        f"/posts/{post['id']}", json={"visibility": "draft"}, headers=ann.headers
    )
    assert reply.status == 502
    del fake.fail["rename"]
    early = image_service.sweep(db=svc.db, image_store=imagekit_store, now=clock())
    assert early.concealed == 0  # the request that planned it may still be renaming
    clock.advance(minutes=11)
    report = image_service.sweep(db=svc.db, image_store=imagekit_store, now=clock())
    assert report.concealed == 1
    assert image_doc(svc, image_id)["path"] != old
    assert f"https://ik.imagekit.io/snapboard{old}*" in fake.purged


# ------------------------------------------------------------------- the feed


def seed(svc: Clients, author: Principal, clock: FakeClock, count: int, **fields: Any) -> list[str]:
    made = []
    for n in range(count):
        if n % 10 == 0:
            clock.advance(seconds=1)  # posts share timestamps in tens: the id breaks ties
        data = PostCreate(
            title=fields.get("title", f"Post {n}"),
            **{k: v for k, v in fields.items() if k != "title"},
        )
        post = service.create_post(
            db=svc.db, image_store=svc.image_store, clock=svc.clock, author=author, data=data
        )
        made.append(post.id)
    return made


def walk(
    client: Http,
    path: str,
    headers: dict[str, str] | None = None,
    during: Callable[[int], None] | None = None,
) -> list[str]:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        joiner = "&" if "?" in path else "?"
        reply = client.get(
            path + (f"{joiner}cursor={cursor}" if cursor else ""), headers=headers or {}
        )
        assert reply.status == 200, reply.body
        seen += [p["id"] for p in reply.json["items"]]
        pages += 1
        if during is not None:
            during(pages)
        cursor = reply.json["next_cursor"]
        if cursor is None:
            return seen


def test_a_walk_in_pages_of_seven_sees_each_of_250_posts_once_while_posts_arrive(
    client: Http, ann: Session, svc: Clients, clock: FakeClock
) -> None:
    author = principal(ann)
    existing = seed(svc, author, clock, 250)

    def insert_more(page: int) -> None:
        if page in (3, 17, 30):
            seed(svc, author, clock, 5, title="Late arrival")

    seen = walk(client, "/posts?limit=7", during=insert_more)
    assert len(seen) == len(set(seen)) == 250
    assert seen == list(reversed(existing))


def test_filters_combine(
    client: Http, ann: Session, bob: Session, svc: Clients, clock: FakeClock
) -> None:
    seed(svc, principal(ann), clock, 3, title="Harbour lights", tags=["sea"])
    seed(svc, principal(ann), clock, 2, title="Mountain lights", tags=["hills"])
    seed(svc, principal(bob), clock, 4, title="Harbour boats", tags=["sea"])

    def count(query: str) -> int:
        return len(client.get(f"/posts?{query}").json["items"])

    assert count("tag=sea") == 7
    assert count("author=ann") == 5
    assert count("author=ANN&tag=sea") == 3
    assert count("q=harbour") == 7
    assert count("q=HARBOUR&author=bob") == 4
    assert count("q=lights&tag=hills") == 2
    assert count("q=harb") == 0  # whole words only
    assert count("author=nobody") == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("cursor=garbage", "cursor"),
        pytest.param(
            f"cursor={encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 'a' * 24 + chr(10))}",
            "cursor",
            id="cursor-whose-id-ends-in-a-newline",  # once a 500 from the driver
        ),
        ("tag=a%20b", "tag"),
        ("colour=red", "colour"),
        ("author[$ne]=x", "author[$ne]"),
    ],
)
def test_bad_feed_queries_are_422(client: Http, query: str, field: str) -> None:
    reply = client.get(f"/posts?{query}")
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == field
