"""Decode-based checks for uploaded images, and the clean copy that gets stored: Pillow's.

The local store's (development) only: production's ImageKit decodes and cleans
images itself, and the Lambda package has no Pillow. What is known without
decoding (formats, MIME types, limits) is in ``chalicelib.images.formats``.

A file is an image when Pillow decodes it as one of the allowed formats: the
name and the declared type are never trusted. The pixel count is read from the
header and checked before any pixel is decoded, so a decompression bomb costs
a header parse. The stored copy is re-encoded from the decoded pixels, upright
(EXIF orientation applied) and without EXIF/GPS or any trailing bytes, which
also neutralises polyglots (a JPEG that is also an HTML page or a ZIP).

Pillow answers a crafted file with more than ``OSError``: fuzzing found
``struct.error`` and ``IndexError`` from its GIF and EXIF parsers, and others
are known. Bytes a client chose that fail to decode are "not an image", with
whatever exception, so the decoding steps here catch ``Exception``; our own
refusals (``DomainError``) pass through untouched.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from chalicelib import errors
from chalicelib.images import formats
from chalicelib.images.formats import MAX_PIXELS, MAX_UPLOAD_BYTES, NOT_AN_IMAGE
from chalicelib.images.models import ImageFormat
from chalicelib.logs import get_logger

log = get_logger("images")

# Animated GIF/WebP: every frame costs memory when re-encoded.
MAX_TOTAL_FRAME_PIXELS = 4 * MAX_PIXELS

# Pillow format name -> our name; the `formats=` argument keeps every other decoder out.
ALLOWED_FORMATS: dict[str, ImageFormat] = {
    "JPEG": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "AVIF": "avif",
}
# What survives re-encoding: colour and animation, never text, EXIF, XMP or GPS.
_KEPT_INFO = ("icc_profile", "transparency", "duration", "loop", "background")


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: ImageFormat
    width: int
    height: int

    @property
    def mime(self) -> str:
        return formats.MIME_TYPES[self.format]


def clean(data: bytes, *, field: str = "file", max_bytes: int = MAX_UPLOAD_BYTES) -> CleanImage:
    """Check ``data`` is an allowed image within limits; return the copy to store."""
    formats.check_size(data, field=field, max_bytes=max_bytes)
    image = _open(data, field=field)
    with image:
        try:
            return _cleaned(image, field=field)
        except errors.DomainError:
            raise
        except Exception as exc:  # see the module's docstring
            log.info({"event": "image_undecodable", "error": type(exc).__name__})
            raise errors.InvalidInput.field(field, NOT_AN_IMAGE) from None


def _cleaned(image: Image.Image, *, field: str) -> CleanImage:
    kind = ALLOWED_FORMATS[str(image.format)]
    frames = getattr(image, "n_frames", 1) if getattr(image, "is_animated", False) else 1
    if image.width * image.height * frames > MAX_TOTAL_FRAME_PIXELS:
        raise errors.InvalidInput.field(field, "The animation has too many frames.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image.load()
        upright = ImageOps.exif_transpose(image) if frames == 1 else image
        encoded = _encode(upright, kind, animated=frames > 1)
    return CleanImage(data=encoded, format=kind, width=upright.width, height=upright.height)


def _open(data: bytes, *, field: str) -> Image.Image:
    """Parse the header only: format, size; nothing is decoded yet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise errors.InvalidInput.field(field, formats.too_many_pixels()) from None
    except Exception:  # UnidentifiedImageError, OSError, or what a crafted header trips
        raise errors.InvalidInput.field(field, NOT_AN_IMAGE) from None
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise errors.InvalidInput.field(field, formats.too_many_pixels())
    return image


def _encode(image: Image.Image, kind: ImageFormat, *, animated: bool) -> bytes:
    """Re-encode without metadata: EXIF, GPS, XMP, comments and text chunks are left behind.

    An ICC profile is colour, not personal data: it is kept so colours stay right.
    """
    # Pillow writes some metadata it read (a JPEG or GIF comment) back out on save.
    image.info = {key: image.info[key] for key in _KEPT_INFO if key in image.info}
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if kind == "jpeg":
        rgb = image if image.mode in ("RGB", "L", "CMYK") else image.convert("RGB")
        icc_profile = image.info.get("icc_profile")
        rgb.save(out, "JPEG", quality=90, optimize=True, icc_profile=icc_profile)
        return out.getvalue()
    if kind == "png":
        options["optimize"] = True
    elif kind == "webp":
        options["quality"] = 90
    elif kind == "avif":
        options["quality"] = 80
    if animated:
        options["save_all"] = True
    icc = image.info.get("icc_profile")
    if icc and kind != "gif":
        options["icc_profile"] = icc
    image.save(out, ALLOWED_FORMATS_SAVE[kind], **options)
    return out.getvalue()


ALLOWED_FORMATS_SAVE: dict[ImageFormat, str] = {
    kind: name for name, kind in ALLOWED_FORMATS.items()
}
