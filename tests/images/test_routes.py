"""The image endpoints over HTTP, on the local store and on ImageKit (faked with respx)."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import respx
from bson import ObjectId
from PIL import Image

from chalicelib.composition import Clients
from chalicelib.images import formats
from chalicelib.principal import Principal
from tests.accounts import Accounts
from tests.images.conftest import (
    FakeImageKit,
    assert_clean_and_upright,
    make_image,
    phone_photo,
    signed_query,
)
from tests.images.test_validation import bomb_png
from tests.support import FakeClock, Http, Reply

SignIn = Callable[[Principal], dict[str, str]]
BASE = "http://127.0.0.1:8000"


def principal(
    user_id: str | None = None, *, verified: bool = True, admin: bool = False
) -> Principal:
    roles: frozenset[Any] = frozenset({"user", "admin"} if admin else {"user"})
    return Principal(
        id=user_id or str(ObjectId()), username="ann", roles=roles, email_verified=verified
    )


def multipart(fields: dict[str, bytes | str], *, file_field: str = "file") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if name == file_field:
            head += '; filename="photo.jpg"\r\nContent-Type: image/jpeg'
        data = value.encode() if isinstance(value, str) else value
        chunks.append(head.encode() + b"\r\n\r\n" + data + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(client: Http, headers: dict[str, str], data: bytes | None = None) -> Reply:
    return client.post(
        "/images",
        body=data or make_image(),
        headers={**headers, "Content-Type": "image/jpeg"},
    )


def fetch(client: Http, path: str, **headers: str) -> Reply:
    """GET media as a browser's <img> does: API Gateway answers binary only to a matching Accept."""
    return client.get(path, headers={"Accept": "image/*,*/*;q=0.8", **headers})


def media_path(url: str) -> str:
    assert url.startswith(BASE)
    return url.removeprefix(BASE)


# ------------------------------------------------------------- server-side upload


def test_a_raw_upload_is_stored_cleaned_and_pending(
    client: Http, sign_in: SignIn, db: Any, svc: Clients
) -> None:
    user = principal()
    reply = upload(client, sign_in(user), make_image((120, 90)))
    assert reply.status == 201, reply.body
    image = reply.json
    assert set(image) == {
        "id", "width", "height", "format", "size", "alt", "url", "variants", "srcset", "placeholder"
    }  # fmt: skip
    assert (image["width"], image["height"], image["format"]) == (120, 90, "jpeg")
    record = db.images.find_one({"_id": ObjectId(image["id"])})
    assert record["status"] == "pending"
    assert record["owner_id"] == user.id
    assert record["path"].startswith(f"/snapboard/users/{user.id}/")
    assert image["url"].startswith(f"{BASE}/media/snapboard/users/{user.id}/")
    assert "ik-s" in image["url"]
    assert "ik-s" in image["variants"]["thumb"]
    stored = svc.image_store.get(record["file_id"])
    assert stored is not None
    assert stored.size == image["size"]


def test_a_multipart_upload_takes_the_file_and_alt_fields(client: Http, sign_in: SignIn) -> None:
    body, content_type = multipart({"file": make_image(), "alt": "A red square"})
    reply = client.post(
        "/images", body=body, headers={**sign_in(principal()), "Content-Type": content_type}
    )
    assert reply.status == 201, reply.body
    assert reply.json["alt"] == "A red square"


def test_a_multipart_alt_over_300_characters_is_a_422_naming_it(
    client: Http, sign_in: SignIn, db: Any
) -> None:
    body, content_type = multipart({"file": make_image(), "alt": "x" * 301})
    reply = client.post(
        "/images", body=body, headers={**sign_in(principal()), "Content-Type": content_type}
    )
    assert reply.status == 422, reply.body
    assert [e["field"] for e in reply.problem["errors"]] == ["alt"]
    assert db.images.count_documents({}) == 0


def test_a_multipart_upload_in_the_wrong_field_is_named(client: Http, sign_in: SignIn) -> None:
    body, content_type = multipart({"image": make_image()}, file_field="image")
    reply = client.post(
        "/images", body=body, headers={**sign_in(principal()), "Content-Type": content_type}
    )
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == "file"


def test_a_text_file_sent_as_a_jpeg_is_refused(client: Http, sign_in: SignIn, db: Any) -> None:
    body, content_type = multipart({"file": b"I am not a picture\n" * 50})
    reply = client.post(
        "/images", body=body, headers={**sign_in(principal()), "Content-Type": content_type}
    )
    assert reply.status == 422
    assert reply.problem["errors"] == [
        {"field": "file", "message": "Not a JPEG, PNG, WebP, GIF or AVIF image."}
    ]
    assert db.images.count_documents({}) == 0


def test_an_image_over_the_upload_limit_is_a_413_problem_on_both_runtimes(
    client: Http, sign_in: SignIn
) -> None:
    # Base64 in the event, it still fits Lambda's limit: the app answers, not the gateway.
    reply = upload(client, sign_in(principal()), b"\xff" * (formats.MAX_UPLOAD_BYTES + 1))
    assert reply.status == 413
    assert reply.problem["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bomb_png(7_000, 7_000), "The image has more than 40 megapixels."),
        (make_image(fmt="PNG")[:33] + b"\x13\x37garbage" * 200, formats.NOT_AN_IMAGE),
    ],
    ids=["49 megapixels", "a png header and garbage"],
)
def test_on_the_local_store_an_upload_pillow_refuses_is_a_422_naming_file_and_leaves_no_file(
    client: Http, sign_in: SignIn, svc: Clients, db: Any, data: bytes, message: str
) -> None:
    reply = upload(client, sign_in(principal()), data)
    assert reply.status == 422, reply.body
    assert reply.problem["errors"] == [{"field": "file", "message": message}]
    assert _staged_files(svc) == []
    assert db.images.count_documents({}) == 0


def test_a_json_body_is_an_unsupported_media_type(client: Http, sign_in: SignIn) -> None:
    reply = client.post("/images", json={"file": "x"}, headers=sign_in(principal()))
    assert reply.status == 415


@pytest.mark.parametrize(("verified", "status"), [(False, 403), (None, 401)])
def test_uploading_needs_a_verified_user(
    client: Http, sign_in: SignIn, verified: bool | None, status: int
) -> None:
    headers = {} if verified is None else sign_in(principal(verified=verified))
    assert upload(client, headers).status == status


# ------------------------------------------------------------------ on ImageKit


Fake = tuple[FakeImageKit, respx.MockRouter]


def test_an_imagekit_500_on_upload_is_a_502_and_nothing_is_recorded(
    imagekit_client: Http, sign_in: SignIn, db: Any, fake_imagekit: Fake
) -> None:
    fake_imagekit[0].fail["upload"] = 500
    reply = upload(imagekit_client, sign_in(principal()))
    assert reply.status == 502
    assert reply.problem["code"] == "image_store_failed"
    assert db.images.count_documents({}) == 0


def test_an_imagekit_timeout_on_upload_is_a_502(
    imagekit_client: Http, sign_in: SignIn, db: Any, fake_imagekit: Fake
) -> None:
    import httpx

    fake_imagekit[1].post("https://upload.imagekit.io/api/v1/files/upload").mock(
        side_effect=httpx.ConnectTimeout("no answer")
    )
    assert upload(imagekit_client, sign_in(principal())).status == 502
    assert db.images.count_documents({}) == 0


def test_an_upload_is_staged_copied_clean_by_imagekit_and_the_staged_file_deleted(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    user = principal()
    photo = phone_photo((96, 64))
    reply = upload(imagekit_client, sign_in(user), photo)
    assert reply.status == 201, reply.body
    assert (reply.json["width"], reply.json["height"]) == (64, 96)
    fake, router = fake_imagekit
    # Three calls: the bytes as sent into the staging folder, the copy ImageKit fetches
    # (signed, upright, no metadata) into the user's folder, the staged file's delete.
    staging, copy, delete = [call.request for call in router.calls]
    assert (staging.method, copy.method, delete.method) == ("POST", "POST", "DELETE")
    staged, published = fake.uploads
    assert staged["fields"]["folder"] == f"/snapboard/uploads/{user.id}"
    assert staged["data"] == photo
    assert copy.url == staging.url
    assert published["fields"]["folder"] == f"/snapboard/users/{user.id}"
    assert f"/snapboard/uploads/{user.id}/" in published["fields"]["source"]
    assert "?tr=rt-auto,md-false" in published["fields"]["source"]
    assert "ik-s=" in published["fields"]["source"]
    (staged_id,) = fake.deleted
    assert delete.url.path == f"/v1/files/{staged_id}"
    record = db.images.find_one({})
    assert list(fake.files) == [record["file_id"]]
    assert record["path"].startswith(f"/snapboard/users/{user.id}/")
    assert_clean_and_upright(fake.contents[record["file_id"]], turned_from=(96, 64))
    assert reply.json["url"].startswith("https://ik.imagekit.io/snapboard/snapboard/users/")


@pytest.mark.parametrize(
    "data",
    [b"I am not a picture\n" * 50, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7"],
    ids=["text", "svg", "pdf"],
)
def test_an_obvious_non_image_never_reaches_imagekit(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any, data: bytes
) -> None:
    reply = upload(imagekit_client, sign_in(principal()), data)
    assert reply.status == 422
    assert reply.problem["errors"] == [{"field": "file", "message": formats.NOT_AN_IMAGE}]
    assert fake_imagekit[1].calls.call_count == 0
    assert db.images.count_documents({}) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # The signature of a GIF, and nothing ImageKit can decode behind it.
        (b"GIF89a" + b"<script>x</script>" * 9, formats.NOT_AN_IMAGE),
        (bomb_png(7_000, 7_000), "The image has more than 40 megapixels."),
    ],
    ids=["undecodable", "49 megapixels"],
)
def test_an_upload_imagekit_reports_as_no_allowed_image_is_a_422_naming_file_and_deleted(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any, data: bytes, message: str
) -> None:
    reply = upload(imagekit_client, sign_in(principal()), data)
    assert reply.status == 422, reply.body
    assert reply.problem["errors"] == [{"field": "file", "message": message}]
    fake = fake_imagekit[0]
    assert len(fake.uploads) == 1  # staged, never copied
    assert len(fake.deleted) == 1
    assert fake.files == {}
    assert db.images.count_documents({}) == 0


def test_a_failed_copy_of_an_upload_deletes_the_staged_file_and_records_nothing(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    fake = fake_imagekit[0]
    fake.script["upload"] = [0, 500]  # the staging upload works, the copy fails
    reply = upload(imagekit_client, sign_in(principal()))
    assert reply.status == 502
    assert reply.problem["code"] == "image_store_failed"
    assert len(fake.deleted) == 1
    assert fake.files == {}
    assert db.images.count_documents({}) == 0


# --------------------------------------------------------------- direct upload


def test_upload_auth_gives_a_30_minute_signature_for_the_users_staging_folder(
    imagekit_client: Http, sign_in: SignIn
) -> None:
    user = principal()
    reply = imagekit_client.get("/images/upload-auth", headers=sign_in(user))
    assert reply.status == 200
    auth = reply.json
    assert auth["folder"] == f"/snapboard/uploads/{user.id}"
    assert time.time() < auth["expire"] <= time.time() + 30 * 60 + 1
    assert auth["public_key"] == "public_test_key"
    assert auth["url_endpoint"] == "https://ik.imagekit.io/snapboard"
    assert set(auth) >= {"token", "signature", "upload_url"}


def test_registering_a_file_in_your_folder_records_a_copy_and_deletes_the_upload(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    user = principal()
    fake = fake_imagekit[0]
    file_id = fake.put(make_image((50, 40)), path=f"/snapboard/uploads/{user.id}/a.jpg")
    reply = imagekit_client.post(
        "/images/register", json={"file_id": file_id}, headers=sign_in(user)
    )
    assert reply.status == 201, reply.body
    assert (reply.json["width"], reply.json["height"]) == (50, 40)
    record = db.images.find_one({})
    assert record["path"].startswith(f"/snapboard/users/{user.id}/")
    assert file_id not in fake.files
    again = imagekit_client.post(
        "/images/register", json={"file_id": file_id}, headers=sign_in(user)
    )
    assert again.status == 422
    assert again.problem["errors"][0]["field"] == "file_id"
    assert db.images.count_documents({}) == 1


def test_a_file_from_someone_elses_folder_is_not_adopted(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    fake = fake_imagekit[0]
    file_id = fake.put(make_image(), path=f"/snapboard/uploads/{ObjectId()}/theirs.jpg")
    reply = imagekit_client.post(
        "/images/register", json={"file_id": file_id}, headers=sign_in(principal())
    )
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == "file_id"
    assert db.images.count_documents({}) == 0
    assert file_id in fake.files


def test_a_directly_uploaded_non_image_is_refused_and_deleted(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    user = principal()
    fake = fake_imagekit[0]
    file_id = fake.put(b"%PDF-1.7 not an image", path=f"/snapboard/uploads/{user.id}/a.jpg")
    reply = imagekit_client.post(
        "/images/register", json={"file_id": file_id}, headers=sign_in(user)
    )
    assert reply.status == 422
    assert file_id not in fake.files
    assert db.images.count_documents({}) == 0


def _local_direct_upload(client: Http, auth: dict[str, Any], data: bytes) -> Reply:
    body, content_type = multipart(
        {
            "file": data,
            "fileName": "photo.jpg",
            "folder": auth["folder"],
            "token": auth["token"],
            "expire": str(auth["expire"]),
            "signature": auth["signature"],
            "publicKey": auth["public_key"],
        }
    )
    assert auth["upload_url"] == f"{BASE}/media/upload"
    return client.post("/media/upload", body=body, headers={"Content-Type": content_type})


def test_the_local_store_offers_the_same_direct_upload_flow(client: Http, sign_in: SignIn) -> None:
    headers = sign_in(principal())
    auth = client.get("/images/upload-auth", headers=headers).json
    uploaded = _local_direct_upload(client, auth, make_image((30, 30)))
    assert uploaded.status == 200, uploaded.body
    assert uploaded.json["filePath"].startswith(auth["folder"] + "/")
    reply = client.post(
        "/images/register", json={"file_id": uploaded.json["fileId"]}, headers=headers
    )
    assert reply.status == 201
    assert reply.json["width"] == 30
    reused = _local_direct_upload(client, auth, make_image())
    assert reused.status == 403
    assert reused.problem["code"] == "token_used"


@pytest.mark.parametrize(("field", "value"), [("signature", "\u00e9" * 40), ("expire", "\u00b2")])
def test_an_upload_signature_of_the_wrong_alphabet_is_refused(
    client: Http, sign_in: SignIn, field: str, value: str
) -> None:
    auth = client.get("/images/upload-auth", headers=sign_in(principal())).json
    auth[field] = value
    reply = _local_direct_upload(client, auth, make_image())
    assert reply.status == 403
    assert reply.problem["code"] == "bad_signature"


def test_a_tampered_upload_signature_is_refused(client: Http, sign_in: SignIn) -> None:
    auth = client.get("/images/upload-auth", headers=sign_in(principal())).json
    auth["signature"] = ("0" if auth["signature"][0] != "0" else "1") + auth["signature"][1:]
    reply = _local_direct_upload(client, auth, make_image())
    assert reply.status == 403
    assert reply.problem["code"] == "bad_signature"


# ------------------------------------------------------------------- delivery


def signed(svc: Clients, url: str, transformation: str = "", expires_in: int | None = None) -> str:
    """A /media path to the file behind ``url``, signed as the API signs what it hands out."""
    path = media_path(url).split("?")[0].removeprefix("/media")
    store = svc.image_store
    return media_path(store.url(path, transformation=transformation, expires_in=expires_in))


def test_media_is_served_transformed_with_cache_headers(
    client: Http, sign_in: SignIn, svc: Clients
) -> None:
    image = upload(client, sign_in(principal()), make_image((400, 300))).json
    original = fetch(client, signed(svc, image["url"]))
    assert original.status == 200
    assert original.headers["content-type"] == "image/jpeg"
    # Signed without an expiry (a public post's URL): cached like ImageKit's files.
    assert original.headers["cache-control"] == "public, max-age=31536000, immutable"
    small = fetch(client, signed(svc, image["url"], "w-100"))
    assert Image.open(io.BytesIO(small.body)).size == (100, 75)
    etag = small.headers["etag"]
    assert etag.startswith('"')
    again = fetch(client, signed(svc, image["url"], "w-100"), **{"If-None-Match": etag})
    assert again.status == 304


@pytest.mark.parametrize("transformation", ["", "w-100", "w-32,q-50,bl-30,f-auto"])
def test_an_unsigned_url_is_refused_for_originals_and_transformations(
    client: Http, sign_in: SignIn, transformation: str
) -> None:
    image = upload(client, sign_in(principal())).json
    path = media_path(image["url"]).split("?")[0]
    query = f"?tr={transformation}" if transformation else ""
    reply = fetch(client, f"{path}{query}")
    assert reply.status == 403
    assert reply.problem["code"] == "unsigned_url"
    assert "public" not in reply.headers.get("cache-control", "")


def test_an_expiring_url_is_cached_privately_until_it_expires(
    client: Http, sign_in: SignIn, svc: Clients
) -> None:
    image = upload(client, sign_in(principal())).json
    for url in (image["url"], image["variants"]["thumb"]):
        reply = fetch(client, media_path(url))
        assert reply.status == 200
        assert reply.headers["cache-control"] == "private, max-age=3600"


def test_the_store_checks_an_expiring_url_against_the_clock_that_dated_it(
    client: Http, sign_in: SignIn, svc: Clients, clock: FakeClock
) -> None:
    image = upload(client, sign_in(principal())).json
    clock.advance(minutes=10)
    reply = fetch(client, media_path(image["url"]))
    assert reply.headers["cache-control"] == "private, max-age=3000"
    clock.advance(minutes=51)
    reply = fetch(client, media_path(image["url"]))
    assert (reply.status, reply.json["code"]) == (403, "signature_expired")


def test_f_auto_honours_accept(client: Http, sign_in: SignIn, svc: Clients) -> None:
    image = upload(client, sign_in(principal())).json
    auto = signed(svc, image["url"], "w-20,f-auto")
    webp = fetch(client, auto, Accept="image/webp,*/*")
    assert webp.headers["content-type"] == "image/webp"
    assert "Accept" in webp.headers["vary"]
    plain = fetch(client, auto, Accept="*/*")
    assert plain.headers["content-type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        *[
            (f"tr={tr}", 400, "bad_transformation")
            for tr in ("w-0", "rt-90", "w-abc", "f-tiff", "c-nope", "q-500")
        ],
        # Signatures of the wrong alphabet ("é", "²"): refused, never compared or parsed.
        *[
            (query, 403, "bad_signature")
            for query in ("ik-t=9999999999&ik-s=%C3%A9", "ik-t=%C2%B2&ik-s=abc", "ik-t=&ik-s=abc")
        ],
        ("ik-s=abc", 403, "bad_signature"),
    ],
)
def test_a_bad_transformation_is_400_and_a_bad_signature_403(
    client: Http, sign_in: SignIn, svc: Clients, query: str, status: int, code: str
) -> None:
    image = upload(client, sign_in(principal())).json
    if query.startswith("tr="):
        target = signed(svc, image["url"], query.removeprefix("tr="))
    else:
        target = f"{media_path(image['url']).split('?')[0]}?{query}"
    reply = fetch(client, target)
    assert reply.status == status
    assert reply.problem["code"] == code


def test_signed_urls_work_and_tampered_or_expired_ones_do_not(
    client: Http, sign_in: SignIn, svc: Clients
) -> None:
    image = upload(client, sign_in(principal())).json
    thumb = media_path(image["variants"]["thumb"])
    assert fetch(client, thumb).status == 200
    params = signed_query(thumb)
    tampered = thumb.replace(params["ik-s"], params["ik-s"][::-1])
    assert fetch(client, tampered).problem["code"] == "bad_signature"
    other_transformation = thumb.replace("w-320", "w-321")
    assert fetch(client, other_transformation).status == 403
    path = media_path(image["url"]).split("?")[0].removeprefix("/media")
    expired = media_path(svc.image_store.url(path, transformation="w-10", expires_in=-5))
    reply = fetch(client, expired)
    assert reply.status == 403
    assert reply.problem["code"] == "signature_expired"


def test_unknown_media_and_hidden_paths_are_404_when_signed_and_403_unsigned(
    client: Http, svc: Clients
) -> None:
    for path in ("/snapboard/users/x/none.jpg", "/.tokens/abc"):
        assert fetch(client, media_path(svc.image_store.url(path))).status == 404
        # Unsigned is refused before looking: no answer tells what exists.
        assert fetch(client, f"/media{path}").status == 403


# ----------------------------------------------------------- owner actions


def test_an_image_is_visible_to_its_owner_and_admins_only(client: Http, sign_in: SignIn) -> None:
    owner = principal()
    image_id = upload(client, sign_in(owner)).json["id"]
    assert client.get(f"/images/{image_id}", headers=sign_in(owner)).status == 200
    assert client.get(f"/images/{image_id}", headers=sign_in(principal())).status == 404
    assert client.get(f"/images/{image_id}", headers=sign_in(principal(admin=True))).status == 200
    assert client.get("/images/not-an-id", headers=sign_in(owner)).status == 404


def test_the_owner_changes_alt_and_the_post_and_feed_show_it(
    client: Http, accounts: Accounts
) -> None:
    ann = accounts.signup("ann")
    image_id = upload(client, ann.headers).json["id"]
    post = client.post(
        "/posts", json={"title": "Harbour", "image_ids": [image_id]}, headers=ann.headers
    ).json
    reply = client.patch(f"/images/{image_id}", json={"alt": "Boats at dawn"}, headers=ann.headers)
    assert reply.status == 200, reply.body
    assert reply.json["id"] == image_id
    assert reply.json["alt"] == "Boats at dawn"
    assert "ik-s" in reply.json["url"]  # signed, as GET /images/{id} answers
    assert client.get(f"/images/{image_id}", headers=ann.headers).json["alt"] == "Boats at dawn"
    assert client.get(f"/posts/{post['id']}").json["images"][0]["alt"] == "Boats at dawn"
    (in_feed,) = client.get("/posts?author=ann").json["items"]
    assert in_feed["images"][0]["alt"] == "Boats at dawn"


def test_only_the_owner_or_an_admin_changes_alt(client: Http, sign_in: SignIn, db: Any) -> None:
    owner = principal()
    image_id = upload(client, sign_in(owner)).json["id"]
    other = client.patch(
        f"/images/{image_id}", json={"alt": "Mine now"}, headers=sign_in(principal())
    )
    assert other.status == 404
    assert db.images.find_one({"_id": ObjectId(image_id)})["alt"] is None
    admin = sign_in(principal(admin=True))
    reply = client.patch(f"/images/{image_id}", json={"alt": "Described"}, headers=admin)
    assert reply.status == 200, reply.body
    assert db.images.find_one({"_id": ObjectId(image_id)})["alt"] == "Described"
    missing = client.patch("/images/not-an-id", json={"alt": "x"}, headers=sign_in(owner))
    assert missing.status == 404
    assert client.patch(f"/images/{image_id}", json={"alt": "x"}).status == 401


def test_null_alt_clears_it(client: Http, sign_in: SignIn) -> None:
    headers = sign_in(principal())
    body, content_type = multipart({"file": make_image(), "alt": "A red square"})
    image_id = client.post(
        "/images", body=body, headers={**headers, "Content-Type": content_type}
    ).json["id"]
    reply = client.patch(f"/images/{image_id}", json={"alt": None}, headers=headers)
    assert reply.status == 200, reply.body
    assert reply.json["alt"] is None
    assert client.get(f"/images/{image_id}", headers=headers).json["alt"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({"alt": "x" * 301}, "alt"), ({"alt": "x", "title": "x"}, "title"), ({}, "alt")],
)
def test_a_bad_alt_change_is_a_422_naming_the_field_and_changes_nothing(
    client: Http, sign_in: SignIn, db: Any, body: dict[str, Any], field: str
) -> None:
    headers = sign_in(principal())
    image_id = upload(client, headers).json["id"]
    reply = client.patch(f"/images/{image_id}", json=body, headers=headers)
    assert reply.status == 422, reply.body
    assert [e["field"] for e in reply.problem["errors"]] == [field]
    assert db.images.find_one({"_id": ObjectId(image_id)})["alt"] is None
    at_most = client.patch(f"/images/{image_id}", json={"alt": "x" * 300}, headers=headers)
    assert at_most.status == 200


def test_deleting_an_unused_image_removes_record_and_file(
    client: Http, sign_in: SignIn, db: Any, svc: Clients
) -> None:
    owner = principal()
    image_id = upload(client, sign_in(owner)).json["id"]
    file_id = db.images.find_one({"_id": ObjectId(image_id)})["file_id"]
    assert client.delete(f"/images/{image_id}", headers=sign_in(principal())).status == 404
    assert client.delete(f"/images/{image_id}", headers=sign_in(owner)).status == 204
    assert db.images.count_documents({}) == 0
    assert svc.image_store.get(file_id) is None


def test_an_image_attached_to_a_post_cannot_be_deleted(
    client: Http, sign_in: SignIn, db: Any
) -> None:
    from chalicelib.clock import utc_now
    from chalicelib.images import service

    owner = principal()
    image_id = upload(client, sign_in(owner)).json["id"]
    service.attach(db=db, clock=utc_now, owner_id=owner.id, image_ids=[image_id], post_id="p1")
    reply = client.delete(f"/images/{image_id}", headers=sign_in(owner))
    assert reply.status == 409
    assert reply.problem["code"] == "image_in_use"


# ------------------------------------------------------------------- avatars


def _user(db: Any) -> Principal:
    oid = db.users.insert_one({"username": "ann", "email": "ann@example.com"}).inserted_id
    return principal(str(oid))


def test_setting_an_avatar_attaches_it_and_replacing_it_deletes_the_old_one(
    client: Http, sign_in: SignIn, db: Any, svc: Clients
) -> None:
    user = _user(db)
    headers = sign_in(user)
    first = upload(client, headers).json["id"]
    reply = client.put("/users/me/avatar", json={"image_id": first}, headers=headers)
    assert reply.status == 200, reply.body
    assert set(reply.json["urls"]) == {"small", "medium", "large"}
    assert "tr=w-48,h-48" in reply.json["urls"]["small"]
    assert db.users.find_one({"_id": ObjectId(user.id)})["avatar_image_id"] == first
    record = db.images.find_one({"_id": ObjectId(first)})
    assert (record["status"], record["avatar_of"], record["post_id"]) == ("attached", user.id, None)
    second = upload(client, headers).json["id"]
    assert client.put("/users/me/avatar", json={"image_id": second}, headers=headers).status == 200
    assert db.images.find_one({"_id": ObjectId(first)}) is None
    assert svc.image_store.get(record["file_id"]) is None
    assert client.delete("/users/me/avatar", headers=headers).status == 204
    assert "avatar_image_id" not in db.users.find_one({"_id": ObjectId(user.id)})
    assert db.images.count_documents({}) == 0


def test_an_avatar_must_be_your_own_unused_image(client: Http, sign_in: SignIn, db: Any) -> None:
    user = _user(db)
    theirs = upload(client, sign_in(principal())).json["id"]
    reply = client.put("/users/me/avatar", json={"image_id": theirs}, headers=sign_in(user))
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == "image_id"
    bad = client.put("/users/me/avatar", json={"image_id": "nope"}, headers=sign_in(user))
    assert bad.status == 422


def test_an_avatar_for_a_user_without_a_profile_is_404_and_changes_nothing(
    client: Http, sign_in: SignIn, db: Any
) -> None:
    ghost = principal()
    headers = sign_in(ghost)
    image_id = upload(client, headers).json["id"]
    reply = client.put("/users/me/avatar", json={"image_id": image_id}, headers=headers)
    assert reply.status == 404
    assert reply.problem["status"] == 404
    assert db.images.find_one({"_id": ObjectId(image_id)})["status"] == "pending"
    assert client.delete("/users/me/avatar", headers=headers).status == 404


# ------------------------------------------------ what a stranger can fetch


def _every_url(image: dict[str, Any]) -> list[str]:
    srcset = [entry.split(" ")[0] for entry in image["srcset"].split(", ")]
    return [image["url"], *image["variants"].values(), *srcset, image["placeholder"]]


def _stage_directly(client: Http, headers: dict[str, str], data: bytes) -> str:
    auth = client.get("/images/upload-auth", headers=headers).json
    uploaded = _local_direct_upload(client, auth, data)
    assert uploaded.status == 200, uploaded.body
    return str(uploaded.json["fileId"])


@pytest.mark.parametrize("way", ["direct upload", "api upload"])
def test_a_phone_photo_reaches_strangers_upright_and_without_metadata(
    client: Http, accounts: Accounts, svc: Clients, way: str
) -> None:
    ann = accounts.signup("ann")
    photo = phone_photo((96, 64))
    if way == "direct upload":
        file_id = _stage_directly(client, ann.headers, photo)
        reply = client.post("/images/register", json={"file_id": file_id}, headers=ann.headers)
        staged = signed(svc, f"{BASE}/media/{file_id}")
    else:
        reply = upload(client, ann.headers, photo)
        staged = None
    assert reply.status == 201, reply.body
    assert (reply.json["width"], reply.json["height"]) == (64, 96)
    post = client.post(
        "/posts",
        json={"title": "Harbour", "visibility": "public", "image_ids": [reply.json["id"]]},
        headers=ann.headers,
    )
    assert post.status == 201, post.body
    (image,) = client.get(f"/posts/{post.json['id']}").json["images"]  # a stranger's view
    urls = _every_url(image)
    assert len(urls) >= 6
    for url in urls:
        fetched = fetch(client, media_path(url))
        assert fetched.status == 200, (url, fetched.body[:200])
        assert_clean_and_upright(fetched.body, turned_from=(96, 64))
    if staged is not None:  # what the browser sent is gone once registered
        assert fetch(client, staged).status == 404


def test_on_imagekit_register_publishes_a_copy_imagekit_renders_upright_without_metadata(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    user = principal()
    fake = fake_imagekit[0]
    staged = fake.put(phone_photo((96, 64)), path=f"/snapboard/uploads/{user.id}/p.jpg")
    reply = imagekit_client.post(
        "/images/register", json={"file_id": staged}, headers=sign_in(user)
    )
    assert reply.status == 201, reply.body
    assert (reply.json["width"], reply.json["height"]) == (64, 96)
    # ImageKit fetched a signed, upright, metadata-free rendering of the staged file...
    (sent,) = fake.uploads
    assert sent["fields"]["folder"] == f"/snapboard/users/{user.id}"
    source = sent["fields"]["source"]
    assert f"/snapboard/uploads/{user.id}/p.jpg?tr=rt-auto,md-false" in source
    assert "ik-s=" in source
    # ...stored it as the published file, and the staged original is gone.
    record = db.images.find_one({})
    (published,) = [i for i, d in fake.files.items() if d["filePath"] == record["path"]]
    assert record["file_id"] == published
    assert_clean_and_upright(fake.contents[published], turned_from=(96, 64))
    assert staged not in fake.files
    assert all(record["path"] in url for url in _every_url(reply.json))


def test_a_failed_copy_records_nothing_and_keeps_the_upload_for_a_retry(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    user = principal()
    fake = fake_imagekit[0]
    staged = fake.put(phone_photo(), path=f"/snapboard/uploads/{user.id}/p.jpg")
    fake.fail["upload"] = 500
    reply = imagekit_client.post(
        "/images/register", json={"file_id": staged}, headers=sign_in(user)
    )
    assert reply.status == 502
    assert db.images.count_documents({}) == 0
    assert staged in fake.files
    del fake.fail["upload"]
    retried = imagekit_client.post(
        "/images/register", json={"file_id": staged}, headers=sign_in(user)
    )
    assert retried.status == 201


# ------------------------------------------------ the local direct-upload endpoint


def _staged_files(svc: Clients) -> list[str]:
    root = svc.image_store.root  # type: ignore[attr-defined]
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and not p.relative_to(root).as_posix().startswith("."))  # fmt: skip


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"", "empty"),
        (b"<!doctype html><script>alert(1)</script>", "html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "svg"),
        (b"GIF89a" + b"\x00" * 20, "a truncated gif"),
    ],
)
def test_a_direct_upload_that_is_not_an_image_is_a_422_naming_file_and_stores_nothing(
    client: Http, sign_in: SignIn, svc: Clients, data: bytes, what: str
) -> None:
    auth = client.get("/images/upload-auth", headers=sign_in(principal())).json
    reply = _local_direct_upload(client, auth, data)
    assert reply.status == 422, (what, reply.body)
    assert [e["field"] for e in reply.problem["errors"]] == ["file"]
    assert _staged_files(svc) == []
    # The token was not spent on a refused file: the real photo still goes through.
    assert _local_direct_upload(client, auth, make_image()).status == 200


def test_a_direct_upload_goes_only_into_the_folder_its_token_was_signed_for(
    client: Http, sign_in: SignIn, svc: Clients
) -> None:
    auth = client.get("/images/upload-auth", headers=sign_in(principal())).json
    victim = f"/snapboard/uploads/{ObjectId()}"
    for folder in (victim, "/snapboard/users/" + auth["folder"].rsplit("/", 1)[1], "/"):
        reply = _local_direct_upload(client, {**auth, "folder": folder}, make_image())
        assert reply.status == 403, folder
        assert reply.problem["code"] == "folder_not_allowed"
    assert _staged_files(svc) == []


@pytest.mark.parametrize(
    "file_name",
    ["../x.png", "..", "....//x.jpg", "x." + "e" * 5000, "", ".hidden", "a/b/c.jpg", "é\u0000.jpg"],
)
def test_any_file_name_is_stored_safely_in_the_signed_folder(
    client: Http, sign_in: SignIn, svc: Clients, file_name: str
) -> None:
    auth = client.get("/images/upload-auth", headers=sign_in(principal())).json
    body, content_type = multipart(
        {
            "file": make_image(),
            "fileName": file_name or "x",
            "folder": auth["folder"],
            "token": auth["token"],
            "expire": str(auth["expire"]),
            "signature": auth["signature"],
            "publicKey": auth["public_key"],
        }
    )
    if not file_name:  # the field present but empty
        body = body.replace(b'name="fileName"\r\n\r\nx\r\n', b'name="fileName"\r\n\r\n\r\n')
    reply = client.post("/media/upload", body=body, headers={"Content-Type": content_type})
    if not file_name:
        assert reply.status == 422
        assert reply.problem["errors"][0]["field"] == "fileName"
        return
    assert reply.status == 200, reply.body
    (stored,) = _staged_files(svc)
    assert "/" + stored == reply.json["filePath"]
    assert stored.startswith(auth["folder"].lstrip("/") + "/")
    assert stored.count("/") == auth["folder"].count("/")  # no sub-folder either
    assert not stored.rsplit("/", 1)[1].startswith(".")


def test_a_multipart_alt_over_300_characters_is_a_422_naming_alt(
    client: Http, sign_in: SignIn, db: Any
) -> None:
    body, content_type = multipart({"file": make_image(), "alt": "x" * 301})
    reply = client.post(
        "/images", body=body, headers={**sign_in(principal()), "Content-Type": content_type}
    )
    assert reply.status == 422, reply.body
    assert [e["field"] for e in reply.problem["errors"]] == ["alt"]
    assert db.images.count_documents({}) == 0


# ------------------------------------------- every input of every image route


def _form(**fields: bytes | str) -> tuple[bytes, dict[str, str]]:
    body, content_type = multipart(dict(fields))
    return body, {"Content-Type": content_type}


_JPEG = make_image()
BAD_INPUTS: list[tuple[str, str, bytes, dict[str, str], list[str]]] = [
    ("POST", "/images", b"", {"Content-Type": "image/jpeg"}, ["file"]),
    ("POST", "/images", b"<svg/>", {"Content-Type": "image/png"}, ["file"]),
    ("POST", "/images?alt=" + "x" * 301, _JPEG, {"Content-Type": "image/jpeg"}, ["alt"]),
    ("POST", "/images", *_form(alt="no file"), ["file"]),
    ("POST", "/images", *_form(file=b"GIF89a", alt="x"), ["file"]),
    ("POST", "/images", *_form(file=_JPEG, alt="x" * 301), ["alt"]),
    ("POST", "/images/register", b"{}", {"Content-Type": "application/json"}, ["file_id"]),
    ("POST", "/images/register", b'{"file_id": "../../etc"}', {"Content-Type": "application/json"},
     ["file_id"]),
    ("POST", "/images/register", b'{"file_id": "a", "x": 1}', {"Content-Type": "application/json"},
     ["x"]),
    ("PUT", "/users/me/avatar", b'{"image_id": "nope"}', {"Content-Type": "application/json"},
     ["image_id"]),
    ("POST", "/media/upload", *_form(file=_JPEG),
     ["fileName", "token", "expire", "signature", "publicKey"]),
    ("POST", "/media/upload", *_form(fileName="a.jpg"), ["file"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "fields"),
    BAD_INPUTS,
    ids=[f"{m} {p[:30]} {'+'.join(f)}" for m, p, _, _, f in BAD_INPUTS],
)
def test_bad_input_to_an_image_route_is_a_422_naming_each_field(
    client: Http,
    sign_in: SignIn,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    fields: list[str],
) -> None:
    reply = client.request(method, path, body=body, headers={**sign_in(principal()), **headers})
    assert reply.status == 422, reply.body
    assert [e["field"] for e in reply.problem["errors"]] == fields
