"""One contract, two stores: what the service relies on holds for ImageKit and the local store."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.images.local import LocalStore
from chalicelib.images.store import ImageStore, StoredFile, StoreError
from tests.images.conftest import (
    LOCAL_KEY,
    PRIVATE_KEY,
    URL_ENDPOINT,
    FakeImageKit,
    make_image,
    phone_photo,
    signed_query,
)

FOLDER = "/snapboard/users/u1"


class Cache(Protocol):
    """Where a store keeps copies of a file besides the file: ImageKit's CDN, local variants."""

    def warm(self, stored: StoredFile) -> None: ...

    def holds(self, stored: StoredFile) -> bool: ...


@dataclass
class ImageKitCdn:
    """The CDN holds a file's copies until the purge API is asked to invalidate its URL."""

    fake: FakeImageKit

    def warm(self, stored: StoredFile) -> None:
        pass  # the CDN caches what browsers fetch

    def holds(self, stored: StoredFile) -> bool:
        url = f"{URL_ENDPOINT}{stored.path}"
        return url not in self.fake.purged and f"{url}*" not in self.fake.purged


@dataclass
class LocalVariants:
    """The local store renders transformations into files under its root's .cache."""

    store: LocalStore

    def warm(self, stored: StoredFile) -> None:
        url = self.store.url(stored.path, transformation="w-10")
        self.store.deliver(stored.file_id.split("/"), dict(parse_qsl(urlsplit(url).query)))

    def holds(self, stored: StoredFile) -> bool:
        return any(path.is_file() for path in (self.store.root / ".cache").rglob("*"))


@pytest.fixture(params=["imagekit", "local"])
def store_and_key(request: pytest.FixtureRequest) -> tuple[ImageStore, str, Cache]:
    if request.param == "imagekit":
        fake, _ = request.getfixturevalue("fake_imagekit")
        return request.getfixturevalue("imagekit_store"), PRIVATE_KEY, ImageKitCdn(fake)
    local: LocalStore = request.getfixturevalue("local_store")
    return local, LOCAL_KEY, LocalVariants(local)


class TestImageStoreContract:
    @pytest.fixture(autouse=True)
    def _store(self, store_and_key: tuple[ImageStore, str, Cache]) -> None:
        self.store, self.key, self.cache = store_and_key

    def upload(self, data: bytes | None = None) -> StoredFile:
        return self.store.upload(data=data or make_image(), file_name="a.jpg", folder=FOLDER)

    def test_an_upload_lands_in_the_folder_under_a_unique_name(self) -> None:
        first, second = self.upload(), self.upload()
        assert first.path.startswith(FOLDER + "/")
        assert first.path.endswith(".jpg")
        assert first.path != second.path
        assert first.file_id != second.file_id
        assert (first.width, first.height) == (64, 48)

    def test_get_describes_the_file_from_what_it_holds(self) -> None:
        data = make_image((30, 20), "PNG")
        stored = self.upload(data)
        described = self.store.get(stored.file_id)
        assert described is not None
        assert (described.file_id, described.path) == (stored.file_id, stored.path)
        assert (described.mime, described.width, described.height) == ("image/png", 30, 20)
        assert described.size == len(data)

    def test_a_file_that_is_not_an_image_is_described_without_a_type(self) -> None:
        stored = self.store.upload(data=b"just text", file_name="notes.jpg", folder=FOLDER)
        described = self.store.get(stored.file_id)
        assert described is not None
        assert described.mime is None
        assert described.width is None

    def test_get_of_an_unknown_file_is_none(self) -> None:
        assert self.store.get("snapboard/users/u1/nothing-here.jpg") is None

    def test_delete_removes_the_file_and_deleting_again_succeeds(self) -> None:
        stored = self.upload()
        self.store.delete(stored.file_id)
        assert self.store.get(stored.file_id) is None
        self.store.delete(stored.file_id)  # idempotent: the sweep may retry

    def test_purge_of_a_stored_path_drops_its_cached_copies(self) -> None:
        stored = self.upload()
        self.cache.warm(stored)
        assert self.cache.holds(stored)
        self.store.purge(stored.path)
        assert not self.cache.holds(stored)

    def test_urls_are_absolute_and_carry_the_transformation(self) -> None:
        url = self.store.url(f"{FOLDER}/a.jpg", transformation="w-320,h-320,f-auto")
        assert url.startswith("http")
        assert f"{FOLDER}/a.jpg?tr=w-320,h-320,f-auto&ik-s=" in url

    def test_signed_urls_expire_and_are_signed_like_imagekit(self) -> None:
        before = int(time.time())
        url = self.store.url(f"{FOLDER}/a.jpg", transformation="w-10", expires_in=600)
        params = signed_query(url)
        assert before + 600 <= int(params["ik-t"]) <= int(time.time()) + 600
        relative = f"{FOLDER.lstrip('/')}/a.jpg?tr=w-10"
        expected = hmac.new(
            self.key.encode(), f"{relative}{params['ik-t']}".encode(), hashlib.sha1
        ).hexdigest()
        assert params["ik-s"] == expected

    def test_urls_without_an_expiry_are_signed_like_imagekit_without_ik_t(self) -> None:
        params = signed_query(self.store.url(f"{FOLDER}/a.jpg", transformation="w-10"))
        assert "ik-t" not in params
        relative = f"{FOLDER.lstrip('/')}/a.jpg?tr=w-10"
        # The SDK signs with its default expiry, 9999999999, and leaves ik-t out.
        expected = hmac.new(
            self.key.encode(), f"{relative}9999999999".encode(), hashlib.sha1
        ).hexdigest()
        assert params["ik-s"] == expected
        plain = self.store.url(f"{FOLDER}/a.jpg")
        assert "?ik-s=" in plain

    def test_a_rename_moves_the_file_and_drops_every_cached_copy_of_the_old_path(self) -> None:
        stored = self.upload()
        self.cache.warm(stored)
        moved = self.store.rename(file_id=stored.file_id, path=stored.path, new_name="fresh.jpg")
        assert moved.path == f"{FOLDER}/fresh.jpg"
        described = self.store.get(moved.file_id)
        assert described is not None
        assert described.path == moved.path
        old = self.store.get(stored.file_id)
        assert old is None or old.path == moved.path  # nothing is left at the old path
        assert not self.cache.holds(stored)

    def test_a_rename_retried_with_the_same_name_answers_the_same_location(self) -> None:
        stored = self.upload()
        first = self.store.rename(file_id=stored.file_id, path=stored.path, new_name="b.jpg")
        again = self.store.rename(file_id=stored.file_id, path=stored.path, new_name="b.jpg")
        assert again == first

    def test_renaming_a_file_the_store_does_not_have_is_a_store_error(self) -> None:
        with pytest.raises(StoreError):
            self.store.rename(
                file_id="snapboard/users/u1/gone.jpg", path=f"{FOLDER}/gone.jpg", new_name="x.jpg"
            )

    def test_upload_signatures_are_hmac_of_token_and_expire_with_fresh_tokens(self) -> None:
        expire = int(time.time()) + 1800
        first = self.store.upload_signature(expire=expire, folder=FOLDER)
        second = self.store.upload_signature(expire=expire, folder=FOLDER)
        assert first.expire == expire
        assert first.token != second.token
        expected = hmac.new(
            self.key.encode(), f"{first.token}{expire}".encode(), hashlib.sha1
        ).hexdigest()
        assert first.signature == expected
        assert first.upload_url.startswith("http")
        assert first.url_endpoint.startswith("http")

    def test_a_clean_copy_is_a_new_upright_file_in_the_folder_and_the_original_stays(self) -> None:
        staged = self.store.upload(
            data=phone_photo((96, 64)), file_name="p.jpg", folder="/snapboard/uploads/u1"
        )
        described = self.store.get(staged.file_id)
        assert described is not None
        copy = self.store.clean_copy(described, folder=FOLDER, file_name="c.jpg")
        assert copy.path.startswith(FOLDER + "/")
        assert copy.file_id != staged.file_id
        again = self.store.get(copy.file_id)
        assert again is not None
        assert (again.mime, again.width, again.height) == ("image/jpeg", 64, 96)
        assert self.store.get(staged.file_id) is not None  # the caller deletes it
