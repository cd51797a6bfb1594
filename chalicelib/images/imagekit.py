"""The production image store on ImageKit: the only module that imports ``imagekitio``.

The client is built by ``build_client`` (called lazily by ``chalicelib.services``)
and injected, so tests drive the real SDK against a mocked transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import imagekitio

from chalicelib.images.store import StoredFile, StoreError, UploadSignature

if TYPE_CHECKING:
    from chalicelib.settings import Settings

# Where browsers send direct uploads (ImageKit's upload API, not the management API).
UPLOAD_URL = "https://upload.imagekit.io/api/v1/files/upload"
# A request should fail fast: the user is waiting, and the sweep retries deletions.
TIMEOUT_SECONDS = 15.0
MAX_RETRIES = 1


def build_client(settings: Settings) -> imagekitio.ImageKit:
    assert settings.imagekit_private_key is not None  # Settings requires it for imagekit
    return imagekitio.ImageKit(
        private_key=settings.imagekit_private_key.get_secret_value(),
        timeout=TIMEOUT_SECONDS,
        max_retries=MAX_RETRIES,
    )


class ImageKitStore:
    provider = "imagekit"

    def __init__(self, client: imagekitio.ImageKit, *, public_key: str, url_endpoint: str) -> None:
        self._client = client
        self.public_key = public_key
        self.url_endpoint = url_endpoint.rstrip("/")

    def upload(self, *, data: bytes, file_name: str, folder: str) -> StoredFile:
        try:
            uploaded = self._client.files.upload(
                file=(file_name, data),
                file_name=file_name,
                folder=folder,
                use_unique_file_name=True,
            )
        except imagekitio.APIError as exc:
            raise StoreError(_describe(exc)) from None
        if not uploaded.file_id or not uploaded.file_path:
            raise StoreError("ImageKit answered an upload without a file id")
        return StoredFile(
            file_id=uploaded.file_id,
            path=uploaded.file_path,
            size=int(uploaded.size or len(data)),
            mime=None,  # the upload answer names the type ("image"), not the format
            width=_int(uploaded.width),
            height=_int(uploaded.height),
        )

    def get(self, file_id: str) -> StoredFile | None:
        try:
            details = self._client.files.get(file_id)
        except imagekitio.NotFoundError:
            return None
        except imagekitio.APIError as exc:
            raise StoreError(_describe(exc)) from None
        if not details.file_id or not details.file_path:
            return None
        return StoredFile(
            file_id=details.file_id,
            path=details.file_path,
            size=int(details.size or 0),
            mime=details.mime if details.file_type == "image" else None,
            width=_int(details.width),
            height=_int(details.height),
        )

    def delete(self, file_id: str) -> None:
        try:
            self._client.files.delete(file_id)
        except imagekitio.NotFoundError:
            return  # already gone: what we wanted
        except imagekitio.APIError as exc:
            raise StoreError(_describe(exc)) from None

    def purge(self, path: str) -> None:
        try:
            self._client.cache.invalidation.create(url=f"{self.url_endpoint}{path}")
        except imagekitio.APIError as exc:
            raise StoreError(_describe(exc)) from None

    def url(self, path: str, *, transformation: str = "", expires_in: int | None = None) -> str:
        options: dict[str, Any] = {"src": path, "url_endpoint": self.url_endpoint}
        if transformation:
            # One raw step: our strings are already in ImageKit's syntax, chains included.
            options["transformation"] = [{"raw": transformation}]
        if expires_in is not None:
            options["signed"] = True
            options["expires_in"] = expires_in
        return self._client.helper.build_url(**options)

    def upload_signature(self, *, expire: int) -> UploadSignature:
        # `expire` is an absolute Unix time; the SDK generates a fresh UUID token.
        params = self._client.helper.get_authentication_parameters(expire=expire)
        return UploadSignature(
            token=str(params["token"]),
            expire=int(params["expire"]),
            signature=str(params["signature"]),
            public_key=self.public_key,
            url_endpoint=self.url_endpoint,
            upload_url=UPLOAD_URL,
        )


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _describe(exc: imagekitio.APIError) -> str:
    # Status and type only: ImageKit's messages may echo request details.
    status = getattr(exc, "status_code", None)
    return f"ImageKit {type(exc).__name__}" + (f" ({status})" if status else "")
