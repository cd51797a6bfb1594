"""Wire shapes of images, and the typed record the repository hands the service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.model import Model

ImageStatus = Literal["pending", "attached", "deleted"]
ImageFormat = Literal["jpeg", "png", "webp", "gif", "avif"]

# A MongoDB ObjectId as a string; anything else is refused before a query runs.
ID_PATTERN = r"^[0-9a-f]{24}$"


@dataclass(frozen=True)
class ImageRecord:
    """One image as the service sees it: plain values, no ObjectId, no Mongo shapes."""

    id: str
    owner_id: str
    provider: str
    file_id: str
    path: str
    width: int
    height: int
    format: ImageFormat
    size: int
    alt: str | None
    status: ImageStatus
    created_at: dt.datetime
    post_id: str | None = None
    avatar_of: str | None = None
    # The file's next name while its post is leaving public view (see service.conceal).
    conceal_to: str | None = None
    # The path was made while its post was not public: no URL of it may lack an
    # expiry until the post is public again (service.reveal), whatever a racing read saw.
    private_path: bool = False


class ImageVariants(Model):
    thumb: str = Field(description="Square crop, 320 px.")
    card: str = Field(description="640 px wide, ratio kept.")
    full: str = Field(description="At most 1600 px on the long side.")


class ImagePublic(Model):
    """An image in a response: every URL absolute and ready for an ``<img>``."""

    id: str
    width: int
    height: int
    format: ImageFormat
    size: int = Field(description="Bytes of the stored original.")
    alt: str | None
    url: str = Field(description="The original; signed and expiring for private posts.")
    variants: ImageVariants
    srcset: str = Field(description="For ``<img srcset>``: width descriptors up to the original.")
    placeholder: str = Field(description="A tiny blurred version for progressive loading.")


class AvatarUrls(Model):
    small: str = Field(description="48 px square.")
    medium: str = Field(description="96 px square.")
    large: str = Field(description="256 px square.")


class AvatarPublic(Model):
    image_id: str
    urls: AvatarUrls


class UploadQuery(Model):
    """The query string of an upload."""

    alt: str | None = Field(default=None, max_length=300)


class UploadForm(Model):
    """The fields of a ``multipart/form-data`` upload."""

    file: bytes = Field(description="The image: JPEG, PNG, WebP, GIF or AVIF, at most 4 MiB.")
    alt: str | None = Field(default=None, max_length=300, description="Text for `<img alt>`.")


class UploadAuth(Model):
    """What a browser needs to upload one file straight to the store."""

    token: str = Field(description="Single use.")
    expire: int = Field(description="Unix time after which the signature is refused.")
    signature: str
    public_key: str
    url_endpoint: str
    folder: str = Field(description="Upload into this folder; register refuses files elsewhere.")
    upload_url: str = Field(description="Where to POST the multipart upload.")


class RegisterImage(Model):
    model_config = ConfigDict(extra="forbid")

    file_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._/-]+$")
    alt: str | None = Field(default=None, max_length=300)


class ImageUpdate(Model):
    """The alt text of an image: null clears it."""

    model_config = ConfigDict(extra="forbid")

    alt: str | None = Field(max_length=300, description="Text for `<img alt>`; null clears it.")


class SetAvatar(Model):
    model_config = ConfigDict(extra="forbid")

    image_id: str = Field(pattern=ID_PATTERN)
