"""The production image store on ImageKit: the only module that imports ``imagekitio``.

The store is given a way to build the client (``build_client``, from
``chalicelib.composition``), so tests drive the real SDK against a mocked
transport. It builds it at the first call of ImageKit's API: the SDK loads
about 160 models with it, and a feed, which only signs URLs (``store.signed_url``,
held to the SDK's ``build_url`` by the tests), never needs it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field, ValidationError

from chalicelib import lazy
from chalicelib.clock import Clock, utc_now
from chalicelib.images.store import (
    Location,
    StoredFile,
    StoreError,
    UploadSignature,
    signed_url,
)
from chalicelib.model import Model

if TYPE_CHECKING:
    import imagekitio

    from chalicelib.settings import Settings
else:
    imagekitio = lazy.module("imagekitio")

# Where browsers send direct uploads (ImageKit's upload API, not the management API).
UPLOAD_URL = "https://upload.imagekit.io/api/v1/files/upload"
# What `clean_copy` asks ImageKit to render: upright (`rt-auto`), no metadata (`md-false`),
# in the original's format at a quality that survives one more generation.
CLEAN_COPY_TRANSFORMATION = "rt-auto,md-false,q-90,f-{format}"
_IMAGEKIT_FORMATS = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "avif": "avif"}
# What an upload's `metadata.format` names (ImageKit's decoding of the file) -> its MIME type.
_MIME_BY_IMAGEKIT_FORMAT = {
    **{ik: f"image/{ours}" for ours, ik in _IMAGEKIT_FORMATS.items()},
    "jpeg": "image/jpeg",
}
# ImageKit fetches the URL at once; the signature only has to outlive that.
CLEAN_COPY_URL_SECONDS = 600
# A request should fail fast: the user is waiting, and the sweep retries deletions.
TIMEOUT_SECONDS = 15.0
MAX_RETRIES = 1


def build_client(settings: Settings) -> imagekitio.ImageKit:
    """The SDK's client; the SDK itself loads here, at the store's first API call."""
    import imagekitio as sdk  # the one import of it that runs (the names above are lazy)

    assert settings.imagekit_private_key is not None  # Settings requires it for imagekit
    return sdk.ImageKit(
        private_key=settings.imagekit_private_key.get_secret_value(),
        timeout=TIMEOUT_SECONDS,
        max_retries=MAX_RETRIES,
    )


class _Metadata(Model):
    """The part of ImageKit's image metadata that we use: the format it decoded."""

    model_config = ConfigDict(from_attributes=True)

    format: str | None = None


class _Answer(Model):
    """The fields of ImageKit's file answers that we use, checked.

    The SDK builds its models without validating them, so a proxy's HTML page or
    a drifted field would arrive as a ``str`` or a wrong type and fail later, as a
    500. Only what we read is checked here; other fields may change freely.
    """

    model_config = ConfigDict(from_attributes=True)

    file_id: str = Field(min_length=1)
    file_path: str = Field(min_length=1)
    size: float | None = None
    width: float | None = None
    height: float | None = None
    mime: str | None = None
    file_type: str | None = None
    metadata: _Metadata | None = None

    def stored(self, *, mime: str | None, size_if_unknown: int) -> StoredFile:
        return StoredFile(
            file_id=self.file_id,
            path=self.file_path,
            size=int(self.size or size_if_unknown),
            mime=mime,
            width=_int(self.width),
            height=_int(self.height),
        )


def _checked(answer: object, operation: str) -> _Answer:
    try:
        return _Answer.model_validate(answer, from_attributes=True)
    except ValidationError:
        raise StoreError(f"ImageKit answered {operation} with no usable file") from None


class ImageKitStore:
    provider = "imagekit"

    def __init__(
        self,
        connect: Callable[[], imagekitio.ImageKit],
        *,
        private_key: str,
        public_key: str,
        url_endpoint: str,
        clock: Clock = utc_now,
    ) -> None:
        self._connect = connect
        self._connected: imagekitio.ImageKit | None = None
        self._lock = threading.Lock()
        self._private_key = private_key
        self._clock = clock
        self.public_key = public_key
        self.url_endpoint = url_endpoint.rstrip("/")

    @property
    def _client(self) -> imagekitio.ImageKit:
        """The SDK's client, built by the first call that needs ImageKit's API."""
        if self._connected is None:
            with self._lock:
                if self._connected is None:
                    self._connected = self._connect()
        return self._connected

    def upload(self, *, data: bytes, file_name: str, folder: str) -> StoredFile:
        try:
            uploaded = self._client.files.upload(
                file=(file_name, data),
                file_name=file_name,
                folder=folder,
                use_unique_file_name=True,
                # The answer names the type ("image") but not the format; its metadata does.
                response_fields=["metadata"],
            )
        except _failures() as exc:
            raise StoreError(_describe(exc)) from None
        answer = _checked(uploaded, "an upload")
        decoded = answer.metadata.format if answer.metadata else None
        mime = _MIME_BY_IMAGEKIT_FORMAT.get(decoded or "") if answer.file_type == "image" else None
        return answer.stored(mime=mime, size_if_unknown=len(data))

    def get(self, file_id: str) -> StoredFile | None:
        try:
            details = self._client.files.get(file_id)
        except imagekitio.NotFoundError:
            return None
        except _failures() as exc:
            raise StoreError(_describe(exc)) from None
        answer = _checked(details, "a file lookup")
        return answer.stored(
            mime=answer.mime if answer.file_type == "image" else None, size_if_unknown=0
        )

    def delete(self, file_id: str) -> None:
        try:
            self._client.files.delete(file_id)
        except imagekitio.NotFoundError:
            return  # already gone: what we wanted
        except _failures() as exc:
            raise StoreError(_describe(exc)) from None

    def purge(self, path: str) -> None:
        try:
            self._client.cache.invalidation.create(url=f"{self.url_endpoint}{path}")
        except _failures() as exc:
            raise StoreError(_describe(exc)) from None

    def rename(self, *, file_id: str, path: str, new_name: str) -> Location:
        target = Location(file_id=file_id, path=f"{path.rsplit('/', 1)[0]}/{new_name}")
        try:
            # purgeCache purges `<old URL>*` on the CDN: the original and every
            # ?tr= variant (our URLs keep transformations in the query for this).
            self._client.files.rename(file_path=path, new_file_name=new_name, purge_cache=True)
        except imagekitio.NotFoundError:
            # A retry after a rename whose answer was lost: done if the file is there.
            current = self.get(file_id)
            if current is None or current.path != target.path:
                raise StoreError("ImageKit has no file to rename") from None
            self.purge(path)  # the lost answer may have been before the purge was issued
        except _failures() as exc:
            raise StoreError(_describe(exc)) from None
        return target

    def url(self, path: str, *, transformation: str = "", expires_in: int | None = None) -> str:
        # Signed always: the account refuses unsigned URLs (docs/deploy.md).
        expire = None if expires_in is None else int(self._clock().timestamp()) + expires_in
        return signed_url(
            self.url_endpoint,
            path,
            key=self._private_key,
            transformation=transformation,
            expire=expire,
        )

    def clean_copy(self, stored: StoredFile, *, folder: str, file_name: str) -> StoredFile:
        """ImageKit renders the copy and stores it: the upload API fetches our URL.

        Its delivery strips metadata and ``rt-auto`` applies the EXIF orientation,
        so the stored copy, and every URL of it, carries neither; the bytes never
        pass through this process. The URL is signed, so it works whether or not
        the account restricts unsigned URLs.
        """
        extension = _IMAGEKIT_FORMATS.get((stored.mime or "").removeprefix("image/"), "jpg")
        source = self.url(
            stored.path,
            transformation=CLEAN_COPY_TRANSFORMATION.format(format=extension),
            expires_in=CLEAN_COPY_URL_SECONDS,
        )
        try:
            # The upload API fetches a URL given as the `file` field; the SDK's `file`
            # takes bytes only, so the URL goes in its documented escape hatch.
            uploaded = self._client.files.upload(
                file=imagekitio.omit,  # type: ignore[arg-type]
                file_name=file_name,
                folder=folder,
                use_unique_file_name=True,
                extra_body={"file": source},
            )
        except _failures() as exc:
            raise StoreError(_describe(exc)) from None
        return _checked(uploaded, "a copy").stored(mime=stored.mime, size_if_unknown=0)

    def files_before(self, *, folder: str, before: dt.datetime, limit: int) -> list[StoredFile]:
        # `path` inside searchQuery matches the folder and its subfolders (the `path`
        # parameter would search one folder only).
        query = f'path : "{folder.rstrip("/")}/" AND createdAt < "{_iso(before)}"'
        try:
            found = self._client.assets.list(
                search_query=query, limit=limit, sort="ASC_CREATED", type="file"
            )
        except _failures() as exc:
            raise StoreError(_describe(exc)) from None
        files = []
        for item in found:
            file_id, path = getattr(item, "file_id", None), getattr(item, "file_path", None)
            if isinstance(file_id, str) and isinstance(path, str) and path.startswith(folder):
                files.append(StoredFile(file_id, path, 0, None, None, None))
        return files

    def upload_signature(self, *, expire: int, folder: str) -> UploadSignature:
        # `expire` is an absolute Unix time; the SDK generates a fresh UUID token. ImageKit's
        # V1 signature covers token and expiry only, so `folder` is checked at register.
        params = self._client.helper.get_authentication_parameters(expire=expire)
        return UploadSignature(
            token=str(params["token"]),
            expire=int(params["expire"]),
            signature=str(params["signature"]),
            public_key=self.public_key,
            url_endpoint=self.url_endpoint,
            upload_url=UPLOAD_URL,
        )


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _failures() -> tuple[type[Exception], ...]:
    """What an SDK call raises when it fails (an ``except`` reads it only then: the SDK
    is loaded by the call). An answer that is not JSON at all (a proxy's error page)
    escapes the SDK as a ValueError."""
    return (imagekitio.APIError, ValueError)


def _describe(exc: Exception) -> str:
    # Status and type only: ImageKit's messages may echo request details.
    status = getattr(exc, "status_code", None)
    return f"ImageKit {type(exc).__name__}" + (f" ({status})" if status else "")
