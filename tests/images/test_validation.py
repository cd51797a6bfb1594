"""What an upload must be: an allowed image by decoding, within limits, cleaned before storing."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from chalicelib import errors
from chalicelib.images import formats, validation
from tests.images.conftest import make_image


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A real decompression bomb: a 1-bit all-black PNG, tiny on disk, 400 megapixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _field_message(exc: errors.InvalidInput) -> str:
    (error,) = exc.errors
    assert error.field == "file"
    return error.message


def test_a_text_file_named_jpg_is_refused() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        validation.clean(b"hello, I am text pretending to be a .jpg\n" * 10)
    assert "Not a JPEG" in _field_message(caught.value)


def test_a_png_header_followed_by_garbage_is_refused() -> None:
    real = make_image(fmt="PNG")
    with pytest.raises(errors.InvalidInput) as caught:
        validation.clean(real[:33] + b"\x13\x37garbage" * 200)
    assert "Not a JPEG" in _field_message(caught.value)


def test_a_gif_javascript_polyglot_is_refused() -> None:
    polyglot = b"GIF89a=1;alert(document.cookie);//" + b"\x00" * 64
    with pytest.raises(errors.InvalidInput):
        validation.clean(polyglot)


def test_a_jpeg_html_polyglot_is_stored_as_pixels_only() -> None:
    payload = b"<html><script>alert(document.cookie)</script></html>"
    polyglot = make_image(comment=payload) + payload
    cleaned = validation.clean(polyglot)
    assert payload not in cleaned.data
    assert b"<script" not in cleaned.data
    assert Image.open(io.BytesIO(cleaned.data)).format == "JPEG"


@pytest.mark.parametrize("fmt", ["GIF", "PNG"])
def test_text_metadata_of_other_formats_is_not_stored(fmt: str) -> None:
    from PIL import PngImagePlugin

    secret = b"home address 52.37N 4.89E"
    options: dict[str, Any] = {"comment": secret}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", secret.decode())
        options = {"pnginfo": info}
    original = make_image(fmt=fmt, **options)
    assert secret in original
    assert secret not in validation.clean(original).data


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = bomb_png()
    assert len(bomb) < 200_000  # it is small: only the header tells
    decoded: list[object] = []
    real_load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> object:
        decoded.append(self)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    with pytest.raises(errors.InvalidInput) as caught:
        validation.clean(bomb)
    assert "megapixels" in _field_message(caught.value)
    assert decoded == []


def test_just_over_40_megapixels_is_refused_even_below_pillows_own_bomb_limit() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        validation.clean(bomb_png(8_000, 5_001))
    assert "40 megapixels" in _field_message(caught.value)


def test_more_than_4_mib_is_too_large() -> None:
    with pytest.raises(errors.PayloadTooLarge):
        validation.clean(b"\xff" * (formats.MAX_UPLOAD_BYTES + 1))


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(errors.InvalidInput):
        validation.clean(b"")


def test_exif_orientation_is_applied_and_exif_and_gps_are_stripped() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0), 3: "E", 4: (4.0, 53.0, 0.0)}  # GPS
    original = make_image((80, 40), exif=exif.tobytes())
    assert b"Exif" in original
    cleaned = validation.clean(original)
    stored = Image.open(io.BytesIO(cleaned.data))
    assert (cleaned.width, cleaned.height) == stored.size == (40, 80)
    assert not stored.getexif()
    assert b"Exif" not in cleaned.data


@pytest.mark.parametrize(
    ("fmt", "kind", "mime"),
    [
        ("JPEG", "jpeg", "image/jpeg"),
        ("PNG", "png", "image/png"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
        ("AVIF", "avif", "image/avif"),
    ],
)
def test_every_allowed_format_is_accepted_and_identified_by_decoding(
    fmt: str, kind: str, mime: str
) -> None:
    cleaned = validation.clean(make_image((20, 10), fmt))
    assert (cleaned.format, cleaned.mime, cleaned.width, cleaned.height) == (kind, mime, 20, 10)


def test_a_decodable_format_outside_the_list_is_refused() -> None:
    with pytest.raises(errors.InvalidInput):
        validation.clean(make_image(fmt="BMP"))


# ------------------------------------------------------------------ crafted files


def seeds() -> list[bytes]:
    """Small valid files of every allowed kind, with the parts parsers trip on: EXIF, frames."""
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated
    exif[0x010F] = "camera"
    files = []
    for kind, mode in (("JPEG", "RGB"), ("PNG", "RGBA"), ("WEBP", "RGB")):
        out = io.BytesIO()
        Image.new(mode, (40, 30), (90, 120, 150, 255)[: len(mode)]).save(
            out, kind, exif=exif.tobytes()
        )
        files.append(out.getvalue())
    frames = [Image.new("P", (40, 30), shade) for shade in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    files.append(out.getvalue())
    return files


SEEDS = seeds()


def clean_or_refuse(data: bytes) -> None:
    """A crafted file is cleaned or refused as input, whatever Pillow raises inside."""
    with contextlib.suppress(errors.InvalidInput, errors.PayloadTooLarge):  # a 422 or a 413
        validation.clean(data)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about corrupt EXIF
def test_every_single_byte_change_of_an_exif_jpeg_is_cleaned_or_refused() -> None:
    # Setting one EXIF byte to 0 once raised struct.error from exif_transpose: a 500.
    jpeg = SEEDS[0]
    for offset in range(len(jpeg)):
        for value in (0x00, 0x01, 0x7F, 0xFF):
            clean_or_refuse(jpeg[:offset] + bytes([value]) + jpeg[offset + 1 :])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        change = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        if change == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif change == "cut":
            del data[max(at, 1) :]
        elif change == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=400, deadline=None)
@given(mutated())
def test_mutated_files_of_every_kind_are_cleaned_or_refused(data: bytes) -> None:
    # Fuzzing like this found struct.error and IndexError in Pillow's GIF and EXIF parsers.
    clean_or_refuse(data)
