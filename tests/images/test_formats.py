"""The checks an upload passes before any store sees it: size, emptiness, the format's signature.

Pillow appears here only to make real files and to compare with: the module under
test imports none of it.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from chalicelib import errors
from chalicelib.images import formats
from tests.conftest import ROOT
from tests.images.conftest import make_image
from tests.images.test_validation import seeds


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    """An ISO base media file's leading box: size, `ftyp`, major brand, version, brands."""
    payload = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(payload)) + b"ftyp" + payload + b"\x00\x00\x00\x08free"


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("AVIF", "avif")],
)
def test_every_allowed_format_pillow_writes_is_recognised(fmt: str, kind: str) -> None:
    assert formats.sniff(make_image((20, 10), fmt)) == kind
    assert formats.check_upload(make_image((20, 10), fmt), field="file") == kind


def test_lossless_and_animated_webp_and_gif87a_are_recognised() -> None:
    out = io.BytesIO()
    frames = [Image.new("RGB", (8, 8), color) for color in ("red", "blue")]
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:])
    assert formats.sniff(out.getvalue()) == "webp"
    assert formats.sniff(make_image(fmt="WEBP", lossless=True)) == "webp"
    assert formats.sniff(b"GIF87a" + make_image(fmt="GIF")[6:]) == "gif"


@pytest.mark.parametrize(
    "data",
    [
        ftyp(b"avif", b"avif", b"mif1", b"miaf"),
        ftyp(b"avis", b"avis", b"msf1"),
        # A major brand of the container only: the AVIF brand among the compatible ones.
        ftyp(b"mif1", b"mif1", b"avif"),
    ],
    ids=["avif", "avif sequence", "mif1 major brand"],
)
def test_an_avif_is_told_by_its_ftyp_brands(data: bytes) -> None:
    assert formats.sniff(data) == "avif"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"I am a text file named photo.jpg\n",
        b"<!doctype html><script>alert(1)</script>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"%PDF-1.7\n",
        b"PK\x03\x04",
        b"GIF",  # too short for GIF87a/GIF89a
        b"GIF88a",
        b"\x89PNG\r\n",  # a truncated PNG signature
        b"\xff\xd8",  # half of JPEG's
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"RIFF\x24\x00\x00\x00WEBP",  # too short to carry a VP8 chunk
        ftyp(b"heic", b"mif1", b"heic"),
        ftyp(b"isom", b"isom", b"mp41"),
        ftyp(b"mif1", b"mif1", b"heic"),
        # Brands past the box's own size, or a size the data cannot hold: not read.
        struct.pack(">I", 16) + b"ftypmif1\x00\x00\x00\x00avif",
        struct.pack(">I", 4096) + b"ftypmif1\x00\x00\x00\x00avif",
        struct.pack(">I", 18) + b"ftypmif1\x00\x00\x00\x00avif\x00\x00",
    ],
    ids=repr,
)
def test_what_is_not_an_allowed_image_has_no_format(data: bytes) -> None:
    assert formats.sniff(data) is None


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO", "PPM", "TGA", "PCX"])
def test_a_format_pillow_reads_but_we_do_not_allow_has_no_format(fmt: str) -> None:
    assert formats.sniff(make_image((16, 16), fmt)) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_are_sniffed_without_raising(data: bytes) -> None:
    assert formats.sniff(data) in (None, "jpeg", "png", "webp", "gif", "avif")


def test_no_crafted_seed_pillow_identifies_is_refused_by_the_signature() -> None:
    # The sniff keeps out what is obviously not an image; it must never refuse a real one.
    for data in seeds():
        with Image.open(io.BytesIO(data)) as image:
            expected = str(image.format).lower()
        assert formats.sniff(data) == expected, expected


def test_an_upload_over_the_limit_is_too_large_and_an_empty_one_names_the_field() -> None:
    with pytest.raises(errors.PayloadTooLarge) as too_large:
        formats.check_upload(b"\xff\xd8\xff" + b"\x00" * formats.MAX_UPLOAD_BYTES, field="file")
    assert "upload-auth" in too_large.value.detail
    with pytest.raises(errors.InvalidInput) as empty:
        formats.check_upload(b"", field="file")
    assert [(e.field, e.message) for e in empty.value.errors] == [("file", "The file is empty.")]
    with pytest.raises(errors.InvalidInput) as text:
        formats.check_upload(b"hello", field="upload")
    assert [(e.field, e.message) for e in text.value.errors] == [("upload", formats.NOT_AN_IMAGE)]


def test_the_module_loads_no_pillow() -> None:
    probe = "import sys, chalicelib.images.formats; print('PIL' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
