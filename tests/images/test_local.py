"""The local store's own behaviour beyond the shared contract: files nobody cleaned.

A direct upload reaches the local store as ImageKit would receive it: as sent,
not re-encoded. Describing such a file and serving a variant of it must end in
an answer (the file, a 400 or a 404), whatever bytes it holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image

from chalicelib import errors
from chalicelib.composition import Clients
from chalicelib.images import transform
from chalicelib.images.local import LocalStore
from chalicelib.images.store import StoredFile, StoreError, UnusableImage
from tests.images.conftest import LOCAL_KEY, make_image
from tests.images.test_validation import bomb_png, mutated
from tests.support import Http, Reply


def query_of(store: LocalStore, stored: StoredFile, transformation: str = "") -> dict[str, str]:
    """The query of the URL the store signs for ``stored``: what a browser sends back."""
    url = store.url(stored.path, transformation=transformation)
    return dict(parse_qsl(urlsplit(url).query))


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about corrupt EXIF
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=mutated())
def test_a_stored_file_of_any_bytes_is_described_and_served_or_refused(
    local_store: LocalStore, data: bytes
) -> None:
    stored = local_store.upload(data=data, file_name="a.jpg", folder="/snapboard/users/u1")
    assert stored.size == len(data)
    assert (stored.mime is None) == (stored.width is None)
    segments = stored.file_id.split("/")
    for transformation in ("", "w-20,f-auto", "w-10,h-10,c-force,bl-2"):
        query = query_of(local_store, stored, transformation)
        with contextlib.suppress(errors.BadRequest):
            delivery = local_store.deliver(segments, query, accept="image/webp")
            assert delivery.body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (make_image(fmt="PNG")[:33] + b"garbage" * 50, "Not a JPEG, PNG, WebP, GIF or AVIF image."),
        (bomb_png(20_000, 20_000), "The image has more than 40 megapixels."),
    ],
    ids=["a png header and garbage", "400 megapixels"],
)
def test_a_clean_copy_of_a_file_pillow_refuses_is_unusable_and_says_why(
    local_store: LocalStore, data: bytes, message: str
) -> None:
    staged = local_store.upload(data=data, file_name="x.png", folder="/snapboard/uploads/u1")
    with pytest.raises(UnusableImage) as refused:
        local_store.clean_copy(staged, folder="/snapboard/users/u1", file_name="y.png")
    assert str(refused.value) == message
    assert local_store.get(staged.file_id) is not None  # the original stays: the caller decides


def test_a_purge_that_cannot_remove_the_cached_variants_is_a_store_error(
    local_store: LocalStore,
) -> None:
    stored = local_store.upload(data=make_image(), file_name="a.jpg", folder="/snapboard/users/u1")
    local_store.deliver(stored.file_id.split("/"), query_of(local_store, stored, "w-10"))
    [variants] = (local_store.root / ".cache").iterdir()
    for rendered in variants.iterdir():
        rendered.unlink()
    variants.rmdir()
    variants.write_bytes(b"")  # a file where the variants' folder was: rmtree cannot remove it
    with pytest.raises(StoreError):
        local_store.purge(stored.path)


# ------------------------------------------------------- bounded rendering


@dataclass
class HeldRenders:
    """A renderer that holds every render until the test lets it go, then renders for real."""

    started: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    release: threading.Event = field(default_factory=threading.Event)

    def __call__(self, data: bytes, steps: tuple[transform.Step, ...], output: Any) -> bytes:
        self.started.release()
        assert self.release.wait(timeout=60), "the test never released the render"
        return transform.render(data, steps, output)


def _serve_with(
    serve: Callable[[Clients], Http], svc: Clients, store: LocalStore
) -> tuple[Http, Callable[..., str]]:
    clients = Clients(
        svc.settings, mongo_client=svc.mongo_client, password_hasher=svc.password_hasher,
        clock=svc.clock, image_store=store,
    )  # fmt: skip
    stored = store.upload(
        data=make_image((200, 150)), file_name="a.jpg", folder="/snapboard/users/u1"
    )
    return serve(clients), lambda transformation="": _relative(
        store.url(stored.path, transformation=transformation)
    )


def _relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _get(client: Http, path: str, into: list[Reply]) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: into.append(client.get(path, headers={"Accept": "image/*"}))
    )
    thread.start()
    return thread


def test_health_answers_while_every_render_slot_is_taken_and_more_renders_get_503(
    serve: Callable[[Clients], Http], svc: Clients, tmp_path: Path
) -> None:
    held = HeldRenders()
    store = LocalStore(
        tmp_path / "media", base_url="http://testserver", signing_key="k",
        max_renders=1, max_waiting_renders=0, renderer=held,
    )  # fmt: skip
    client, media = _serve_with(serve, svc, store)
    first: list[Reply] = []
    rendering = _get(client, media("w-100"), first)
    assert held.started.acquire(timeout=60)
    try:
        assert client.get("/health").status == 200
        busy = client.get(media("w-4000,h-4000,c-force"), headers={"Accept": "image/*"})
        assert busy.status == 503
        assert busy.problem["code"] == "render_busy"
        assert int(busy.headers["retry-after"]) >= 1
        assert client.get(media(), headers={"Accept": "image/*"}).status == 200  # no render
    finally:
        held.release.set()
        rendering.join()
    assert first[0].status == 200
    assert Image.open(io.BytesIO(first[0].body)).size == (100, 75)


def test_a_render_waits_for_a_free_slot_within_the_queue_bound(
    serve: Callable[[Clients], Http], svc: Clients, tmp_path: Path
) -> None:
    held = HeldRenders()
    store = LocalStore(
        tmp_path / "media", base_url="http://testserver", signing_key="k",
        max_renders=1, max_waiting_renders=1, renderer=held,
    )  # fmt: skip
    client, media = _serve_with(serve, svc, store)
    replies: list[Reply] = []
    first = _get(client, media("w-100"), replies)
    assert held.started.acquire(timeout=60)
    second = _get(client, media("w-50"), replies)  # queued behind the first
    held.release.set()
    first.join()
    second.join()
    assert [reply.status for reply in replies] == [200, 200]


def test_a_path_transformation_is_served_when_its_signature_covers_it(
    local_store: LocalStore,
) -> None:
    stored = local_store.upload(data=make_image((400, 300)), file_name="a.jpg", folder="/f")
    signed_part = f"tr:w-50,h-50{stored.path}"
    signature = hmac.new(
        LOCAL_KEY.encode(), f"{signed_part}9999999999".encode(), hashlib.sha1
    ).hexdigest()
    segments = ["tr:w-50,h-50", *stored.file_id.split("/")]
    delivered = local_store.deliver(segments, {"ik-s": signature})
    assert delivered.body
    with pytest.raises(errors.Forbidden):
        local_store.deliver(segments, {})  # unsigned
    with pytest.raises(errors.Forbidden):
        local_store.deliver(segments, query_of(local_store, stored))  # the original's signature


def test_a_renamed_file_is_no_longer_served_at_its_old_path(local_store: LocalStore) -> None:
    stored = local_store.upload(data=make_image(), file_name="a.jpg", folder="/f")
    old_query = query_of(local_store, stored, "w-10")
    local_store.deliver(stored.file_id.split("/"), old_query)
    moved = local_store.rename(file_id=stored.file_id, path=stored.path, new_name="n.jpg")
    with pytest.raises(errors.NotFound):
        local_store.deliver(stored.file_id.split("/"), old_query)
    assert not any(p.is_file() for p in (local_store.root / ".cache").rglob("*"))  # purged
    new = local_store.get(moved.file_id)
    assert new is not None
    assert local_store.deliver(moved.file_id.split("/"), query_of(local_store, new)).body


def test_a_cache_file_that_vanishes_while_the_cache_is_trimmed_is_not_an_error(
    local_store: LocalStore, tmp_path: Path
) -> None:
    # Another render's temporary file, listed and then renamed away before its size is
    # read: here a link to nothing, which the listing finds and `stat` cannot.
    stored = local_store.upload(data=make_image((200, 100)), file_name="a.jpg", folder="/f")
    cache = tmp_path / "media" / ".cache" / "elsewhere"
    cache.mkdir(parents=True)
    (cache / ".render.tmp").symlink_to(tmp_path / "gone")
    query = query_of(local_store, stored, "w-40")
    delivered = local_store.deliver(stored.file_id.split("/"), query)
    assert Image.open(io.BytesIO(delivered.body)).width == 40
