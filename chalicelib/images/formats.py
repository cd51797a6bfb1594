"""What an image may be, known without decoding it: formats, limits, and a signature check.

Nothing here imports Pillow (an import-linter contract in pyproject.toml keeps it
so): the Lambda package has no Pillow, and the upload path runs on this module.
Decoding is the store's job: ImageKit's in production (``register``'s checks of
what it reports, and the clean copy it renders), Pillow's in the local store
(``chalicelib.images.validation``).

The signature check only keeps what is obviously not an image (text, HTML, SVG, a
PDF, an empty body) from ever reaching the store; a file that merely starts like
an image is refused later, once the store has decoded it.
"""

from __future__ import annotations

from chalicelib import errors
from chalicelib.images.models import ImageFormat

# Within the API's body limit (wire.MAX_BODY_BYTES) with room for the multipart form.
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
# Direct uploads skip the API's body limit; ImageKit's free plan allows 20 MB for images.
MAX_DIRECT_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000

MIME_TYPES: dict[ImageFormat, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
}
FORMAT_BY_MIME: dict[str, ImageFormat] = {mime: kind for kind, mime in MIME_TYPES.items()}
EXTENSIONS: dict[ImageFormat, str] = {
    "jpeg": "jpg",
    "png": "png",
    "webp": "webp",
    "gif": "gif",
    "avif": "avif",
}
NOT_AN_IMAGE = "Not a JPEG, PNG, WebP, GIF or AVIF image."

# The WHATWG MIME Sniffing Standard's image patterns (section 6.1, "Matching an image
# type pattern"): what browsers check before they render bytes as an image. The
# mask-free ones are prefixes; WebP's has four bytes of any value (the RIFF size).
_PREFIXES: tuple[tuple[bytes, ImageFormat], ...] = (
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)
# AVIF is an ISO base media file: a leading `ftyp` box (ISO/IEC 14496-12, 4.3) whose
# major or compatible brands include `avif` (an image) or `avis` (a sequence), as the
# AV1 Image File Format (AVIF) specification requires of every AVIF file.
_AVIF_BRANDS = {b"avif", b"avis"}
# A real `ftyp` box lists a handful of brands; this bounds what is read.
_MAX_FTYP_BYTES = 256


def sniff(data: bytes) -> ImageFormat | None:
    """The allowed format whose signature ``data`` starts with; None for anything else."""
    for prefix, kind in _PREFIXES:
        if data.startswith(prefix):
            return kind
    if data[:4] == b"RIFF" and data[8:14] == b"WEBPVP":
        return "webp"
    return "avif" if _is_avif(data) else None


def _is_avif(data: bytes) -> bool:
    if data[4:8] != b"ftyp":
        return False
    size = int.from_bytes(data[:4], "big")
    # 8 bytes of box header, the major brand and the minor version, then 4-byte brands.
    if not 16 <= size <= min(len(data), _MAX_FTYP_BYTES) or size % 4:
        return False
    brands = [data[8:12]] + [data[i : i + 4] for i in range(16, size, 4)]
    return not _AVIF_BRANDS.isdisjoint(brands)


def check_size(data: bytes, *, field: str, max_bytes: int) -> None:
    """Refuse an upload over ``max_bytes`` (413) or an empty one (422 naming ``field``)."""
    if len(data) > max_bytes:
        hint = (
            ""
            if max_bytes > MAX_UPLOAD_BYTES
            else "; upload larger files directly (GET /images/upload-auth)"
        )
        raise errors.PayloadTooLarge(f"Images are limited to {max_bytes} bytes{hint}.")
    if not data:
        raise errors.InvalidInput.field(field, "The file is empty.")


def check_upload(data: bytes, *, field: str, max_bytes: int = MAX_UPLOAD_BYTES) -> ImageFormat:
    """The checks an upload passes before any store sees it: size, emptiness, signature."""
    check_size(data, field=field, max_bytes=max_bytes)
    kind = sniff(data)
    if kind is None:
        raise errors.InvalidInput.field(field, NOT_AN_IMAGE)
    return kind


def too_many_pixels() -> str:
    return f"The image has more than {MAX_PIXELS // 1_000_000} megapixels."
