"""The one interface both image stores implement, and what they answer.

``ImageKitStore`` (production) and ``LocalStore`` (development) behave the same
to the service: the contract tests in ``tests/images/test_store_contract.py``
run one class against both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol

# Signed URLs carry these two query parameters, as ImageKit's do.
TIMESTAMP_PARAM = "ik-t"
SIGNATURE_PARAM = "ik-s"
# A URL signed without an expiry carries only ``ik-s``, computed with this expiry
# (the imagekitio SDK's DEFAULT_TIMESTAMP): ImageKit checks it the same way.
NO_EXPIRY = 9999999999


class StoreError(Exception):
    """The store failed or could not be reached; the operation did not take effect."""


class UnusableImage(StoreError):
    """The store decoded the file and will not copy it: not an allowed image, or too big.

    Its message says why, in words fit for the client who sent the file.
    """


@dataclass(frozen=True)
class StoredFile:
    """A file as the store describes it (never as the client claimed it)."""

    file_id: str
    path: str  # "/snapboard/users/<id>/<name>", as the store delivers it
    size: int
    mime: str | None  # None when the store does not recognise an image
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Location:
    """Where a file is after a rename: its id (ImageKit keeps it, locally it is the path)."""

    file_id: str
    path: str


@dataclass(frozen=True)
class UploadSignature:
    token: str
    expire: int
    signature: str
    public_key: str
    url_endpoint: str
    upload_url: str


class ImageStore(Protocol):
    """Where image files live and how browsers fetch them."""

    provider: str

    def upload(self, *, data: bytes, file_name: str, folder: str) -> StoredFile:
        """Store ``data`` under ``folder``; raise ``StoreError`` if that failed."""

    def get(self, file_id: str) -> StoredFile | None:
        """The file's details, or None when the store has no such file."""

    def delete(self, file_id: str) -> None:
        """Delete the file; deleting a file that is already gone succeeds."""

    def purge(self, path: str) -> None:
        """Drop every cached copy of the file (CDN and transformed variants)."""

    def rename(self, *, file_id: str, path: str, new_name: str) -> Location:
        """Give the file ``new_name`` in its folder, so that no URL of ``path`` works again.

        The old path stops answering and its cached copies are purged. Idempotent:
        if an earlier call already renamed it, this answers the same location. Raise
        ``StoreError`` when the store failed (the caller retries with the same name).
        """

    def url(self, path: str, *, transformation: str = "", expires_in: int | None = None) -> str:
        """An absolute, signed delivery URL; expiring in ``expires_in`` seconds when given.

        Every URL is signed: the store refuses unsigned ones (ImageKit's "Restrict
        unsigned URLs", docs/deploy.md), so stripping the query never reveals a file.
        """

    def upload_signature(self, *, expire: int, folder: str) -> UploadSignature:
        """Parameters for one direct browser upload into ``folder``, valid until ``expire``.

        ``expire`` is a Unix time. ImageKit's signature cannot bind the folder
        (``register`` checks it instead); the local store's does.
        """

    def clean_copy(self, stored: StoredFile, *, folder: str, file_name: str) -> StoredFile:
        """Store an upright copy of the image ``stored`` without any metadata in ``folder``.

        The original stays; the caller deletes it. Raises ``UnusableImage`` when the
        file does not decode as an allowed image within limits (the local store's
        Pillow checks), ``StoreError`` when the store failed.
        """

    def files_before(self, *, folder: str, before: dt.datetime, limit: int) -> list[StoredFile]:
        """Up to ``limit`` files under ``folder`` (any depth) created before ``before``.

        Only ``file_id`` and ``path`` are meaningful in what it returns.
        """


def upload_signature_for(private_key: str, token: str, expire: int) -> str:
    """ImageKit's client-upload signature: HMAC-SHA1 of ``token + expire``."""
    message = f"{token}{expire}".encode()
    return hmac.new(private_key.encode(), message, hashlib.sha1).hexdigest()


def url_signature_for(private_key: str, relative_url: str, expire: int) -> str:
    """ImageKit's URL signature: HMAC-SHA1 of the URL after the endpoint, plus the expiry."""
    message = f"{relative_url}{expire}".encode()
    return hmac.new(private_key.encode(), message, hashlib.sha1).hexdigest()
