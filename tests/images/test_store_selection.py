"""``IMAGE_STORE`` picks the store that ``Clients.image_store`` builds, once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chalicelib.composition import Clients
from chalicelib.images.imagekit import ImageKitStore
from chalicelib.images.local import LocalStore
from chalicelib.settings import Settings


def test_the_local_store_is_the_default_and_builds_urls_on_public_base_url(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    lazy = Clients(make_settings({"PUBLIC_BASE_URL": "https://api.example.com/"}))
    store = lazy.image_store
    assert isinstance(store, LocalStore)
    assert lazy.image_store is store
    assert store.root == tmp_path / "data" / "media"
    assert store.url("/a/b.jpg").startswith("https://api.example.com/media/a/b.jpg?ik-s=")


def test_imagekit_is_chosen_with_its_account_settings(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        {
            "IMAGE_STORE": "imagekit",
            "IMAGEKIT_PRIVATE_KEY": "private_x",
            "IMAGEKIT_PUBLIC_KEY": "public_x",
            "IMAGEKIT_URL_ENDPOINT": "https://ik.imagekit.io/acme",
        }
    )
    store = Clients(settings).image_store
    assert isinstance(store, ImageKitStore)
    assert store.url("/a.jpg").startswith("https://ik.imagekit.io/acme/a.jpg?ik-s=")
