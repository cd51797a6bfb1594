"""Image fixtures: generated pictures, both stores, and a fake ImageKit behind respx.

``FakeImageKit`` answers the ImageKit endpoints the store uses, keeps the
files it was sent and records every request, so tests drive the real
``imagekitio`` SDK and assert exactly what it sent. An upload whose ``file``
is one of the account's own URLs stores what ImageKit's delivery answers for
it, as its documentation describes: upright with ``rt-auto``, no metadata
(only ``md-true`` keeps it), in the ``f-`` format asked.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import imagekitio
import pytest
import respx
from PIL import Image, ImageOps

from chalicelib.composition import Clients
from chalicelib.images import form
from chalicelib.images.imagekit import ImageKitStore
from chalicelib.images.local import LocalStore
from chalicelib.settings import Settings
from tests.support import Http

PRIVATE_KEY = "private_test_key"
PUBLIC_KEY = "public_test_key"
URL_ENDPOINT = "https://ik.imagekit.io/snapboard"
BASE_URL = "http://testserver"
LOCAL_KEY = "local-signing-key"


def make_image(
    size: tuple[int, int] = (64, 48),
    fmt: str = "JPEG",
    *,
    color: tuple[int, int, int] = (200, 80, 40),
    **save: Any,
) -> bytes:
    """A generated picture: a gradient, so resampling and encoding have work to do."""
    image = Image.new("RGB", size, color)
    width, height = size
    for x in range(0, width, max(1, width // 16)):
        for y in range(0, height, max(1, height // 16)):
            image.putpixel((x, y), ((x * 255) // width, (y * 255) // height, 128))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


@dataclass
class FakeImageKit:
    """ImageKit's upload, details, delete, rename and purge APIs, in memory."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # operation -> status to answer
    contents: dict[str, bytes] = field(default_factory=dict)
    created: dict[str, dt.datetime] = field(default_factory=dict)
    # operation -> statuses for its next calls, in turn (0: answer normally)
    script: dict[str, list[int]] = field(default_factory=dict)

    def deliver(self, url: str) -> bytes:
        """What ImageKit's CDN answers for one of the account's URLs (``tr`` query form)."""
        parts = urlsplit(url)
        path = parts.path.removeprefix(urlsplit(URL_ENDPOINT).path)
        [file_id] = [i for i, d in self.files.items() if d["filePath"] == path]
        steps = dict(p.split("-", 1) for p in parse_qs(parts.query)["tr"][0].split(","))
        with Image.open(io.BytesIO(self.contents[file_id])) as image:
            output = ImageOps.exif_transpose(image) if steps.get("rt") == "auto" else image.copy()
        if steps.get("md") == "true":
            raise AssertionError("md-true keeps the metadata: never ask for it")
        output.info = {}
        out = io.BytesIO()
        output.save(out, {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[steps["f"]])
        return out.getvalue()

    def list(self, request: httpx.Request) -> httpx.Response:
        """The list-and-search API, for the one query shape the store sends."""
        query = request.url.params["searchQuery"]
        match = re.fullmatch(r'path : "([^"]+)" AND createdAt < "([^"]+)"', query)
        assert match, query
        prefix, before = match[1], dt.datetime.fromisoformat(match[2]).replace(tzinfo=dt.UTC)
        found = [
            {**details, "type": "file", "createdAt": self.created[file_id].isoformat()}
            for file_id, details in self.files.items()
            if details["filePath"].startswith(prefix) and self.created[file_id] < before
        ]
        return httpx.Response(200, json=found[: int(request.url.params["limit"])])

    def upload(self, request: httpx.Request) -> httpx.Response:
        status = self.fail.get("upload") or (self.script.get("upload") or [0]).pop(0)
        if status:
            return httpx.Response(status, json={"message": "boom"})
        parts = form.parse(request.content, request.headers["content-type"])
        fields = {name: part.text for name, part in parts.items() if name != "file"}
        data = bytes(parts["file"].data)
        self.uploads.append({"fields": fields, "data": data, "headers": dict(request.headers)})
        if parts["file"].filename is None and data.startswith(URL_ENDPOINT.encode()):
            fields["source"] = data.decode()
            data = self.deliver(fields["source"])
        folder = fields.get("folder", "/").rstrip("/")
        stem, _, ext = fields["fileName"].rpartition(".")
        file_id = uuid.uuid4().hex[:24]
        name = f"{stem}_{file_id[:6]}.{ext}"
        details = {"fileId": file_id, "name": name, "filePath": f"{folder}/{name}"}
        details.update(_describe(data))
        self.files[file_id] = details
        self.contents[file_id] = data
        self.created[file_id] = dt.datetime.now(dt.UTC)
        # The upload answer has no `mime`; `metadata` (only when asked for) names the format.
        answer: dict[str, Any] = {k: v for k, v in details.items() if k != "mime"}
        answer["url"] = f"{URL_ENDPOINT}{details['filePath']}"
        if "metadata" in fields.get("responseFields", "").split(","):
            answer["metadata"] = _metadata(data)
        return httpx.Response(200, json=answer)

    def details(self, request: httpx.Request, file_id: str) -> httpx.Response:
        if "get" in self.fail:
            return httpx.Response(self.fail["get"], json={"message": "boom"})
        if file_id not in self.files:
            return httpx.Response(404, json={"message": "The requested file does not exist."})
        return httpx.Response(200, json={**self.files[file_id], "type": "file"})

    def delete(self, request: httpx.Request, file_id: str) -> httpx.Response:
        if "delete" in self.fail:
            return httpx.Response(self.fail["delete"], json={"message": "boom"})
        if self.files.pop(file_id, None) is None:
            return httpx.Response(404, json={"message": "The requested file does not exist."})
        self.deleted.append(file_id)
        return httpx.Response(204)

    def rename(self, request: httpx.Request) -> httpx.Response:
        status = self.fail.get("rename") or (self.script.get("rename") or [0]).pop(0)
        if status:
            return httpx.Response(status, json={"message": "boom"})
        sent = json.loads(request.content)
        found = [f for f in self.files.values() if f["filePath"] == sent["filePath"]]
        if not found:
            return httpx.Response(404, json={"message": "The requested file does not exist."})
        (details,) = found
        folder = details["filePath"].rsplit("/", 1)[0]
        details.update(name=sent["newFileName"], filePath=f"{folder}/{sent['newFileName']}")
        if not sent.get("purgeCache"):
            return httpx.Response(200, json={})
        # ImageKit purges the old URL with a wildcard: the original and its ?tr= variants.
        self.purged.append(f"{URL_ENDPOINT}{sent['filePath']}*")
        return httpx.Response(200, json={"purgeRequestId": uuid.uuid4().hex})

    def purge(self, request: httpx.Request) -> httpx.Response:
        if "purge" in self.fail:
            return httpx.Response(self.fail["purge"], json={"message": "boom"})
        self.purged.append(json.loads(request.content)["url"])
        return httpx.Response(201, json={"requestId": uuid.uuid4().hex})

    def put(self, data: bytes, *, path: str) -> str:
        """A file someone uploaded directly (the browser's side of a direct upload)."""
        file_id = uuid.uuid4().hex[:24]
        self.files[file_id] = {
            "fileId": file_id,
            "name": path.rsplit("/", 1)[-1],
            "filePath": path,
            **_describe(data),
        }
        self.contents[file_id] = data
        self.created[file_id] = dt.datetime.now(dt.UTC)
        return file_id


def _describe(data: bytes) -> dict[str, Any]:
    """What ImageKit reports about a file: it decodes images, other files are "non-image"."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return {
                "fileType": "image",
                "mime": Image.MIME[str(image.format)],
                "width": image.width,
                "height": image.height,
                "size": len(data),
            }
    except Exception:
        return {"fileType": "non-image", "mime": "text/plain", "size": len(data)}


def _metadata(data: bytes) -> dict[str, Any]:
    """ImageKit's metadata of a file: the format it decoded (`jpg` for JPEG), sizes."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            kind = {"JPEG": "jpg"}.get(str(image.format), str(image.format).lower())
            return {"format": kind, "width": image.width, "height": image.height}
    except Exception:
        return {"size": len(data)}


@pytest.fixture
def fake_imagekit() -> Iterator[tuple[FakeImageKit, respx.MockRouter]]:
    fake = FakeImageKit()
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post("https://upload.imagekit.io/api/v1/files/upload").mock(side_effect=fake.upload)
        router.get(
            url__regex=r"https://api\.imagekit\.io/v1/files/(?P<file_id>[^/]+)/details"
        ).mock(side_effect=fake.details)
        router.delete(url__regex=r"https://api\.imagekit\.io/v1/files/(?P<file_id>[^/]+)$").mock(
            side_effect=fake.delete
        )
        router.put("https://api.imagekit.io/v1/files/rename").mock(side_effect=fake.rename)
        router.post("https://api.imagekit.io/v1/files/purge").mock(side_effect=fake.purge)
        router.get("https://api.imagekit.io/v1/files").mock(side_effect=fake.list)
        yield fake, router


@pytest.fixture
def imagekit_store(fake_imagekit: tuple[FakeImageKit, respx.MockRouter]) -> ImageKitStore:
    client = imagekitio.ImageKit(private_key=PRIVATE_KEY, max_retries=0, timeout=5)
    return ImageKitStore(
        lambda: client, private_key=PRIVATE_KEY, public_key=PUBLIC_KEY, url_endpoint=URL_ENDPOINT
    )


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "media", base_url=BASE_URL, signing_key=LOCAL_KEY)


def signed_query(url: str) -> dict[str, str]:
    return dict(re.findall(r"[?&](ik-[ts])=([^&]+)", url))


@pytest.fixture
def on_imagekit(
    svc: Clients, settings: Settings, mongo_client: Any, imagekit_store: ImageKitStore
) -> Clients:
    """The test's clients with the ImageKit store (the real SDK, faked over HTTP)."""
    return Clients(
        settings, mongo_client=mongo_client, password_hasher=svc.password_hasher, clock=svc.clock,
        image_store=imagekit_store,
    )  # fmt: skip


@pytest.fixture
def imagekit_client(serve: Callable[[Clients], Http], on_imagekit: Clients) -> Http:
    """An HTTP client for an app whose image store is ImageKit."""
    return serve(on_imagekit)


# ------------------------------------------------- photos straight from a phone

# Text a camera writes that must never reach a stranger: each is searched for in the bytes.
MAKE, MODEL, USER_COMMENT = "AcmePhone", "AcmePhone 15 Pro", "meet me at the harbour"
JPEG_COMMENT = "shot-on-acmephone"
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    'syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    'exif:GPSLatitude="51,30.0N" exif:GPSLongitude="0,7.5W"/></rdf:RDF></x:xmpmeta>'
)
_MARKERS = (MAKE, USER_COMMENT, JPEG_COMMENT, "GPSLatitude")
# Orientation 6: the camera was turned; viewers rotate the stored pixels 90 degrees clockwise.
TURNED = 6
RED = (220, 20, 20)
BLUE = (20, 20, 220)


def phone_photo(size: tuple[int, int] = (96, 64)) -> bytes:
    """A JPEG as a phone writes it: GPS, make, model, a user comment, XMP, a comment, and
    orientation 6. The stored pixels are blue with a red top-left quarter, so upright
    (rotated clockwise) the red quarter is at the top right.
    """
    width, height = size
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, width // 2, height // 2))
    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif[0x0110] = MODEL
    exif[0x0112] = TURNED
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 30.0)})
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00" + USER_COMMENT.encode()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif, comment=JPEG_COMMENT, xmp=XMP.encode())
    data = out.getvalue()
    assert all(marker.encode() in data for marker in _MARKERS)  # the test is about these
    return data


def assert_clean_and_upright(data: bytes, *, turned_from: tuple[int, int]) -> None:
    """No EXIF, GPS, XMP or comment left, and the picture stands as the viewer saw it."""
    for marker in _MARKERS:
        assert marker.encode() not in data, marker
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif(), dict(image.getexif())
        assert not {"exif", "xmp", "comment", "XML:com.adobe.xmp"} & set(image.info)
        width, height = image.size
        # Upright: the stored landscape is a portrait, its red quarter top right.
        assert (width > height) == (turned_from[0] < turned_from[1]), image.size
        rgb = image.convert("RGB")
        top_right = rgb.getpixel((width * 3 // 4, height // 4))
        top_left = rgb.getpixel((width // 4, height // 4))
        assert isinstance(top_right, tuple)
        assert isinstance(top_left, tuple)
        assert top_right[0] > 150 > top_right[2], top_right
        assert top_left[2] > 150 > top_left[0], top_left
