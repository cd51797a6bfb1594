"""The ImageKit store drives the real imagekitio SDK; these pin what it sends."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
import respx

from chalicelib.images.imagekit import UPLOAD_URL, ImageKitStore
from chalicelib.images.store import StoreError
from tests.images.conftest import PRIVATE_KEY, URL_ENDPOINT, FakeImageKit, make_image

Fake = tuple[FakeImageKit, respx.MockRouter]


def _basic_auth(request: httpx.Request) -> str:
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(encoded).decode().split(":", 1)[0]


def test_upload_sends_the_file_name_folder_and_unique_name_flag(
    imagekit_store: ImageKitStore, fake_imagekit: Fake
) -> None:
    fake, router = fake_imagekit
    data = make_image()
    stored = imagekit_store.upload(data=data, file_name="abc.jpg", folder="/snapboard/users/u1")
    (sent,) = fake.uploads
    assert sent["fields"] == {
        "fileName": "abc.jpg",
        "folder": "/snapboard/users/u1",
        "useUniqueFileName": "true",
        "responseFields": "metadata",
    }
    assert sent["data"] == data
    request = router.calls.last.request
    assert str(request.url) == UPLOAD_URL
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert _basic_auth(request) == PRIVATE_KEY
    assert stored.path.startswith("/snapboard/users/u1/abc_")
    assert stored.file_id in fake.files


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_an_upload_is_described_by_what_imagekit_decoded(
    imagekit_store: ImageKitStore, fmt: str, mime: str
) -> None:
    # The upload answer's `metadata.format` (asked for with responseFields), not the name.
    stored = imagekit_store.upload(
        data=make_image((12, 9), fmt), file_name="x.jpg", folder="/snapboard/uploads/u1"
    )
    assert (stored.mime, stored.width, stored.height) == (mime, 12, 9)


def test_an_upload_imagekit_does_not_decode_as_an_image_has_no_type(
    imagekit_store: ImageKitStore,
) -> None:
    stored = imagekit_store.upload(data=b"GIF89a, then text", file_name="x.gif", folder="/f")
    assert (stored.mime, stored.width, stored.height) == (None, None, None)


def test_delete_and_purge_call_the_management_api(
    imagekit_store: ImageKitStore, fake_imagekit: Fake
) -> None:
    fake, router = fake_imagekit
    stored = imagekit_store.upload(data=make_image(), file_name="a.jpg", folder="/f")
    imagekit_store.delete(stored.file_id)
    delete = router.calls.last.request
    assert (delete.method, str(delete.url)) == (
        "DELETE",
        f"https://api.imagekit.io/v1/files/{stored.file_id}",
    )
    imagekit_store.purge(stored.path)
    purge = router.calls.last.request
    assert (purge.method, str(purge.url)) == ("POST", "https://api.imagekit.io/v1/files/purge")
    assert json.loads(purge.content) == {"url": f"{URL_ENDPOINT}{stored.path}"}
    assert fake.deleted == [stored.file_id]


def test_get_reads_the_file_details(imagekit_store: ImageKitStore, fake_imagekit: Fake) -> None:
    _, router = fake_imagekit
    stored = imagekit_store.upload(data=make_image((10, 7), "PNG"), file_name="a.png", folder="/f")
    details = imagekit_store.get(stored.file_id)
    request = router.calls.last.request
    assert str(request.url) == f"https://api.imagekit.io/v1/files/{stored.file_id}/details"
    assert details is not None
    assert (details.mime, details.width, details.height) == (
        "image/png",
        10,
        7,
    )


def test_rename_asks_imagekit_to_purge_the_old_url_and_keeps_the_file_id(
    imagekit_store: ImageKitStore, fake_imagekit: Fake
) -> None:
    fake, router = fake_imagekit
    stored = imagekit_store.upload(data=make_image(), file_name="a.jpg", folder="/f")
    moved = imagekit_store.rename(file_id=stored.file_id, path=stored.path, new_name="n.jpg")
    rename = router.calls.last.request
    assert (rename.method, str(rename.url)) == ("PUT", "https://api.imagekit.io/v1/files/rename")
    assert json.loads(rename.content) == {
        "filePath": stored.path,
        "newFileName": "n.jpg",
        "purgeCache": True,
    }
    assert _basic_auth(rename) == PRIVATE_KEY
    assert (moved.file_id, moved.path) == (stored.file_id, "/f/n.jpg")
    assert fake.files[stored.file_id]["filePath"] == "/f/n.jpg"


def test_a_rename_retried_after_its_answer_was_lost_checks_the_file_and_purges(
    imagekit_store: ImageKitStore, fake_imagekit: Fake
) -> None:
    fake, router = fake_imagekit
    stored = imagekit_store.upload(data=make_image(), file_name="a.jpg", folder="/f")
    fake.files[stored.file_id]["filePath"] = "/f/n.jpg"  # renamed; the answer never came
    moved = imagekit_store.rename(file_id=stored.file_id, path=stored.path, new_name="n.jpg")
    assert moved.path == "/f/n.jpg"
    sent = [(call.request.method, call.request.url.path) for call in router.calls][-3:]
    assert sent == [
        ("PUT", "/v1/files/rename"),
        ("GET", f"/v1/files/{stored.file_id}/details"),
        ("POST", "/v1/files/purge"),
    ]
    assert fake.purged == [f"{URL_ENDPOINT}{stored.path}"]


@pytest.mark.parametrize("operation", ["upload", "get", "delete", "purge", "rename"])
def test_an_imagekit_500_is_a_store_error(
    imagekit_store: ImageKitStore, fake_imagekit: Fake, operation: str
) -> None:
    fake, _ = fake_imagekit
    fake.fail[operation] = 500
    calls: dict[str, Callable[[], object]] = {
        "upload": lambda: imagekit_store.upload(data=make_image(), file_name="a.jpg", folder="/f"),
        "get": lambda: imagekit_store.get("some-id"),
        "delete": lambda: imagekit_store.delete("some-id"),
        "purge": lambda: imagekit_store.purge("/f/a.jpg"),
        "rename": lambda: imagekit_store.rename(file_id="i", path="/f/a.jpg", new_name="b.jpg"),
    }
    with pytest.raises(StoreError, match="InternalServerError"):
        calls[operation]()


UNUSABLE_ANSWERS = {
    "a proxy's html page": httpx.Response(
        200, text="<html>", headers={"content-type": "text/html"}
    ),
    "broken json": httpx.Response(200, text="{", headers={"content-type": "application/json"}),
    "a list": httpx.Response(200, json=[]),
    "null": httpx.Response(200, json=None),
    "no file id": httpx.Response(200, json={"name": "a.jpg"}),
    "wrong types": httpx.Response(200, json={"fileId": 5, "filePath": "/f/a.jpg", "width": "x"}),
}


@pytest.mark.parametrize("answer", UNUSABLE_ANSWERS.values(), ids=UNUSABLE_ANSWERS.keys())
def test_a_success_that_carries_no_usable_file_is_a_store_error(
    imagekit_store: ImageKitStore, fake_imagekit: Fake, answer: httpx.Response
) -> None:
    # The SDK does not validate what it parses: this once surfaced as an AttributeError (500).
    _, router = fake_imagekit
    router.post(UPLOAD_URL).mock(return_value=answer)
    router.get(url__regex=r"https://api\.imagekit\.io/v1/files/(?P<file_id>[^/]+)/details").mock(
        return_value=answer
    )
    with pytest.raises(StoreError):
        imagekit_store.upload(data=make_image(), file_name="a.jpg", folder="/f")
    with pytest.raises(StoreError):
        imagekit_store.get("some-id")


def test_an_upload_timeout_is_a_store_error(
    imagekit_store: ImageKitStore, fake_imagekit: Fake
) -> None:
    _, router = fake_imagekit
    router.post(UPLOAD_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(StoreError, match="APITimeoutError"):
        imagekit_store.upload(data=make_image(), file_name="a.jpg", folder="/f")


def test_urls_are_signed_with_transformations_in_the_query(
    imagekit_store: ImageKitStore,
) -> None:
    # The account refuses unsigned URLs, so even public ones carry ik-s (without ik-t).
    plain = imagekit_store.url("/f/a.jpg")
    assert plain.startswith(f"{URL_ENDPOINT}/f/a.jpg?ik-s=")
    transformed = imagekit_store.url("/f/a.jpg", transformation="w-320,h-320:bl-5")
    assert transformed.startswith(f"{URL_ENDPOINT}/f/a.jpg?tr=w-320,h-320:bl-5&ik-s=")
    expiring = imagekit_store.url("/f/a.jpg", transformation="w-10", expires_in=60)
    assert "&ik-t=" in expiring


def test_upload_signature_uses_the_absolute_expiry_given(imagekit_store: ImageKitStore) -> None:
    signed = imagekit_store.upload_signature(expire=1_900_000_000, folder="/snapboard/uploads/u1")
    assert signed.expire == 1_900_000_000
    assert signed.public_key == "public_test_key"
    assert signed.url_endpoint == URL_ENDPOINT
    assert signed.upload_url == UPLOAD_URL
