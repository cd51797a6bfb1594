"""chalicelib/images/store.py: signed URLs exactly as ImageKit's own SDK writes them."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import imagekitio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.images.imagekit import ImageKitStore
from chalicelib.images.service import AVATAR_SIZES, PLACEHOLDER, VARIANTS
from chalicelib.images.store import signed_url
from tests.images.conftest import PRIVATE_KEY, PUBLIC_KEY, URL_ENDPOINT

SDK = imagekitio.ImageKit(private_key=PRIVATE_KEY)
ENDPOINTS = [URL_ENDPOINT, "https://ik.imagekit.io/acme/", "https://images.example.com"]
# What the service asks for, and other strings in ImageKit's syntax (chains included).
OURS = [
    *VARIANTS.values(),
    PLACEHOLDER,
    *(f"w-{s},h-{s},c-maintain_ratio" for s in AVATAR_SIZES.values()),
]
TRANSFORMATIONS = st.one_of(
    st.just(""),
    st.sampled_from(OURS),
    st.from_regex(
        r"[a-z]{1,3}-[a-z0-9_.]{1,8}([,:][a-z]{1,3}-[a-z0-9_.]{1,8}){0,3}", fullmatch=True
    ),
)
# Paths as stores hold them (a leading slash, folders), in any characters a file name may have.
# ASCII punctuation is drawn often: it is where the escaping rules differ.
CHARACTERS = st.one_of(
    st.sampled_from([c for c in string.printable if c not in "/?#"]),
    st.characters(codec="utf-8", exclude_characters="/?#\x00"),
)
PATHS = st.lists(
    st.text(CHARACTERS, min_size=1, max_size=12),
    min_size=1,
    max_size=4,
).map(lambda parts: "/" + "/".join(parts))


def sdk_url(endpoint: str, path: str, transformation: str, expires_in: int | None = None) -> str:
    options: dict[str, object] = {"src": path, "url_endpoint": endpoint, "signed": True}
    if transformation:
        options["transformation"] = [{"raw": transformation}]
        options["transformation_position"] = "query"
    if expires_in is not None:
        options["expires_in"] = expires_in
    return SDK.helper.build_url(**options)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(endpoint=st.sampled_from(ENDPOINTS), path=PATHS, transformation=TRANSFORMATIONS)
def test_a_url_that_never_expires_is_the_sdks_byte_for_byte(
    endpoint: str, path: str, transformation: str
) -> None:
    base = endpoint.rstrip("/")
    ours = signed_url(base, path, key=PRIVATE_KEY, transformation=transformation)
    assert ours == sdk_url(base, path, transformation)


@settings(max_examples=100, deadline=None)
@given(path=PATHS, transformation=TRANSFORMATIONS, expires_in=st.integers(1, 400 * 24 * 3600))
def test_an_expiring_url_is_the_sdks_for_the_same_expiry(
    path: str, transformation: str, expires_in: int
) -> None:
    # The SDK reads the real clock; its URL says which expiry it chose.
    theirs = sdk_url(URL_ENDPOINT, path, transformation, expires_in)
    [expire] = parse_qs(urlsplit(theirs).query)["ik-t"]
    ours = signed_url(
        URL_ENDPOINT, path, key=PRIVATE_KEY, transformation=transformation, expire=int(expire)
    )
    assert ours == theirs


@pytest.mark.parametrize("expires_in", [None, 3600])
def test_the_imagekit_store_dates_a_url_by_its_clock_without_building_the_client(
    expires_in: int | None,
) -> None:
    def connect() -> imagekitio.ImageKit:
        raise AssertionError("a URL needs no client")

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    store = ImageKitStore(
        connect,
        private_key=PRIVATE_KEY,
        public_key=PUBLIC_KEY,
        url_endpoint=URL_ENDPOINT,
        clock=lambda: now,
    )
    url = store.url("/f/a.jpg", transformation="w-320", expires_in=expires_in)
    expire = None if expires_in is None else int(now.timestamp()) + expires_in
    assert url == signed_url(
        URL_ENDPOINT, "/f/a.jpg", key=PRIVATE_KEY, transformation="w-320", expire=expire
    )
    assert ("ik-t" in parse_qs(urlsplit(url).query)) is (expires_in is not None)
