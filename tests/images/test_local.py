"""The local store's own behaviour beyond the shared contract: files nobody cleaned.

A direct upload reaches the local store as ImageKit would receive it: as sent,
not re-encoded. Describing such a file and serving a variant of it must end in
an answer (the file, a 400 or a 404), whatever bytes it holds.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings

from chalicelib import errors
from chalicelib.images.local import LocalStore
from chalicelib.images.store import StoreError
from tests.images.conftest import make_image
from tests.images.test_validation import mutated


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
    for query in ({}, {"tr": "w-20,f-auto"}, {"tr": "w-10,h-10,c-force,bl-2"}):
        with contextlib.suppress(errors.BadRequest):
            delivery = local_store.deliver(segments, query, accept="image/webp")
            assert delivery.body


def test_a_purge_that_cannot_remove_the_cached_variants_is_a_store_error(
    local_store: LocalStore,
) -> None:
    stored = local_store.upload(data=make_image(), file_name="a.jpg", folder="/snapboard/users/u1")
    local_store.deliver(stored.file_id.split("/"), {"tr": "w-10"})
    [variants] = (local_store.root / ".cache").iterdir()
    for rendered in variants.iterdir():
        rendered.unlink()
    variants.rmdir()
    variants.write_bytes(b"")  # a file where the variants' folder was: rmtree cannot remove it
    with pytest.raises(StoreError):
        local_store.purge(stored.path)
