"""Image fixtures: generated pictures, both stores, and a fake ImageKit behind respx.

``FakeImageKit`` answers the five ImageKit endpoints the store uses, keeps the
files it was sent and records every request, so tests drive the real
``imagekitio`` SDK and assert exactly what it sent.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import imagekitio
import pytest
import respx
from PIL import Image

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
    # operation -> statuses for its next calls, in turn (0: answer normally)
    script: dict[str, list[int]] = field(default_factory=dict)

    def upload(self, request: httpx.Request) -> httpx.Response:
        if "upload" in self.fail:
            return httpx.Response(self.fail["upload"], json={"message": "boom"})
        parts = form.parse(request.content, request.headers["content-type"])
        fields = {name: part.text for name, part in parts.items() if name != "file"}
        data = bytes(parts["file"].data)
        self.uploads.append({"fields": fields, "data": data, "headers": dict(request.headers)})
        folder = fields.get("folder", "/").rstrip("/")
        stem, _, ext = fields["fileName"].rpartition(".")
        file_id = uuid.uuid4().hex[:24]
        name = f"{stem}_{file_id[:6]}.{ext}"
        details = {"fileId": file_id, "name": name, "filePath": f"{folder}/{name}"}
        details.update(_describe(data))
        self.files[file_id] = details
        return httpx.Response(200, json={**details, "url": f"{URL_ENDPOINT}{details['filePath']}"})

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
        yield fake, router


@pytest.fixture
def imagekit_store(fake_imagekit: tuple[FakeImageKit, respx.MockRouter]) -> ImageKitStore:
    client = imagekitio.ImageKit(private_key=PRIVATE_KEY, max_retries=0, timeout=5)
    return ImageKitStore(client, public_key=PUBLIC_KEY, url_endpoint=URL_ENDPOINT)


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
