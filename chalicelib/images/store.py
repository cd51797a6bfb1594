"""The one interface both image stores implement, and what they answer.

``ImageKitStore`` (production) and ``LocalStore`` (development) behave the same
to the service: the contract tests in ``tests/images/test_store_contract.py``
run one class against both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# Signed URLs carry these two query parameters, as ImageKit's do.
TIMESTAMP_PARAM = "ik-t"
SIGNATURE_PARAM = "ik-s"
# A URL signed without an expiry carries only ``ik-s``, computed with this expiry
# (the imagekitio SDK's DEFAULT_TIMESTAMP): ImageKit checks it the same way.
NO_EXPIRY = 9999999999
# What ImageKit's SDKs leave unescaped in a path: RFC 3986's path characters.
PATH_SAFE = "/:@!$&'()*+,;=-._~"


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


@dataclass(frozen=True)
class Delivery:
    """A file ready to send: body and the headers that describe it."""

    body: bytes
    content_type: str
    etag: str
    cache_control: str
    vary_accept: bool
    not_modified: bool = False


@runtime_checkable
class MediaServer(Protocol):
    """A store that serves its own files and uploads, as ImageKit's CDN and upload API do.

    Only the local store does (``/media``); with ImageKit the browser talks to ImageKit.
    """

    def deliver(
        self,
        segments: list[str],
        query: Mapping[str, str],
        *,
        accept: str = "",
        if_none_match: str | None = None,
    ) -> Delivery:
        """Answer ``GET /media/<segments>?<query>`` like ImageKit answers the same URL."""

    def accept_direct_upload(
        self,
        *,
        data: bytes,
        file_name: str,
        folder: str,
        token: str,
        expire: str,
        signature: str,
        public_key: str,
    ) -> StoredFile:
        """Check an upload the way ImageKit's upload API does, then store it as sent."""

    def unsigned_url(self, path: str) -> str:
        """The plain URL ImageKit's upload API answers with (refused on delivery)."""


def upload_signature_for(private_key: str, token: str, expire: int) -> str:
    """ImageKit's client-upload signature: HMAC-SHA1 of ``token + expire``."""
    message = f"{token}{expire}".encode()
    return hmac.new(private_key.encode(), message, hashlib.sha1).hexdigest()


def url_signature_for(private_key: str, relative_url: str, expire: int) -> str:
    """ImageKit's URL signature: HMAC-SHA1 of the URL after the endpoint, plus the expiry."""
    message = f"{relative_url}{expire}".encode()
    return hmac.new(private_key.encode(), message, hashlib.sha1).hexdigest()


def signed_url(
    endpoint: str, path: str, *, key: str, transformation: str = "", expire: int | None = None
) -> str:
    """``path`` under ``endpoint``, signed with ``key`` as ImageKit signs delivery URLs.

    Byte for byte what the imagekitio SDK's ``helper.build_url`` writes for a raw
    transformation in the query (tests/images/test_store.py compares them), without
    loading the SDK: a feed builds every URL it serves, and importing the SDK costs a
    cold start more than the feed's own work. The transformation goes in the query,
    where a rename's purge (``<old URL>*``) covers it. Without ``expire`` (a Unix time)
    the URL never expires: it carries no ``ik-t``, and the signature covers ``NO_EXPIRY``.
    """
    relative = urllib.parse.quote(path.strip("/"), safe=PATH_SAFE)
    if transformation:
        relative += f"?tr={transformation}"
    signature = url_signature_for(key, relative, NO_EXPIRY if expire is None else expire)
    url = f"{endpoint.rstrip('/')}/{relative}{'&' if transformation else '?'}"
    if expire is None:
        return f"{url}{SIGNATURE_PARAM}={signature}"
    return f"{url}{TIMESTAMP_PARAM}={expire}&{SIGNATURE_PARAM}={signature}"
