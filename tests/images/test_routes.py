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
from chalicelib.images import validation
from chalicelib.principal import Principal
from tests.accounts import Accounts
from tests.images.conftest import FakeImageKit, make_image, signed_query
from tests.support import Http, Reply

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
    reply = upload(client, sign_in(principal()), b"\xff" * (validation.MAX_UPLOAD_BYTES + 1))
    assert reply.status == 413
    assert reply.problem["code"] == "payload_too_large"


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


def test_a_database_failure_after_the_upload_deletes_the_file_again(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mongomock
    from pymongo.errors import ServerSelectionTimeoutError

    def down(*args: object, **kwargs: object) -> None:
        raise ServerSelectionTimeoutError("no primary")

    monkeypatch.setattr(mongomock.Collection, "insert_one", down)
    fake = fake_imagekit[0]
    reply = upload(imagekit_client, sign_in(principal()))
    assert reply.status == 503
    (_sent,) = fake.uploads
    assert fake.files == {}
    assert len(fake.deleted) == 1


def test_the_upload_goes_to_imagekit_in_the_users_folder(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake
) -> None:
    user = principal()
    reply = upload(imagekit_client, sign_in(user))
    assert reply.status == 201
    (sent,) = fake_imagekit[0].uploads
    assert sent["fields"]["folder"] == f"/snapboard/users/{user.id}"
    assert reply.json["url"].startswith("https://ik.imagekit.io/snapboard/snapboard/users/")


# --------------------------------------------------------------- direct upload


def test_upload_auth_gives_a_30_minute_signature_for_the_users_folder(
    imagekit_client: Http, sign_in: SignIn
) -> None:
    user = principal()
    reply = imagekit_client.get("/images/upload-auth", headers=sign_in(user))
    assert reply.status == 200
    auth = reply.json
    assert auth["folder"] == f"/snapboard/users/{user.id}"
    assert time.time() < auth["expire"] <= time.time() + 30 * 60 + 1
    assert auth["public_key"] == "public_test_key"
    assert auth["url_endpoint"] == "https://ik.imagekit.io/snapboard"
    assert set(auth) >= {"token", "signature", "upload_url"}


def test_registering_a_file_in_your_folder_records_it(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    user = principal()
    file_id = fake_imagekit[0].put(make_image((50, 40)), path=f"/snapboard/users/{user.id}/a.jpg")
    reply = imagekit_client.post(
        "/images/register", json={"file_id": file_id}, headers=sign_in(user)
    )
    assert reply.status == 201, reply.body
    assert (reply.json["width"], reply.json["height"]) == (50, 40)
    again = imagekit_client.post(
        "/images/register", json={"file_id": file_id}, headers=sign_in(user)
    )
    assert again.status == 409
    assert db.images.count_documents({}) == 1


def test_a_file_from_someone_elses_folder_is_not_adopted(
    imagekit_client: Http, sign_in: SignIn, fake_imagekit: Fake, db: Any
) -> None:
    fake = fake_imagekit[0]
    file_id = fake.put(make_image(), path=f"/snapboard/users/{ObjectId()}/theirs.jpg")
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
    file_id = fake.put(b"%PDF-1.7 not an image", path=f"/snapboard/users/{user.id}/a.jpg")
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


def test_media_is_served_transformed_with_cache_headers(client: Http, sign_in: SignIn) -> None:
    image = upload(client, sign_in(principal()), make_image((400, 300))).json
    path = media_path(image["url"]).split("?")[0]
    original = fetch(client, path)
    assert original.status == 200
    assert original.headers["content-type"] == "image/jpeg"
    assert original.headers["cache-control"] == "public, max-age=31536000, immutable"
    small = fetch(client, f"{path}?tr=w-100")
    assert Image.open(io.BytesIO(small.body)).size == (100, 75)
    segments = path.split("/")
    path_form = "/".join([*segments[:2], "tr:w-50,h-50", *segments[2:]])
    assert Image.open(io.BytesIO(fetch(client, path_form).body)).size == (50, 50)
    etag = small.headers["etag"]
    assert etag.startswith('"')
    assert fetch(client, f"{path}?tr=w-100", **{"If-None-Match": etag}).status == 304


def test_f_auto_honours_accept(client: Http, sign_in: SignIn) -> None:
    image = upload(client, sign_in(principal())).json
    path = media_path(image["url"]).split("?")[0]
    webp = fetch(client, f"{path}?tr=w-20,f-auto", Accept="image/webp,*/*")
    assert webp.headers["content-type"] == "image/webp"
    assert "Accept" in webp.headers["vary"]
    plain = fetch(client, f"{path}?tr=w-20,f-auto", Accept="*/*")
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
    client: Http, sign_in: SignIn, query: str, status: int, code: str
) -> None:
    image = upload(client, sign_in(principal())).json
    path = media_path(image["url"]).split("?")[0]
    reply = fetch(client, f"{path}?{query}")
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


def test_unknown_media_and_hidden_paths_are_404(client: Http) -> None:
    assert fetch(client, "/media/snapboard/users/x/none.jpg").status == 404
    assert fetch(client, "/media/.tokens/abc").status == 404


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
