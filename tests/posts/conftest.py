from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from tests.accounts import Accounts, Session

# The ImageKit store (the real SDK against a fake over HTTP), for visibility changes.
from tests.images.conftest import (  # noqa: F401
    fake_imagekit,
    imagekit_client,
    imagekit_store,
    on_imagekit,
)
from tests.support import Http


def png(width: int = 64, height: int = 48, colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def ann(accounts: Accounts) -> Session:
    return accounts.signup("ann")


@pytest.fixture
def bob(accounts: Accounts) -> Session:
    return accounts.signup("bob")


@pytest.fixture
def ada(accounts: Accounts) -> Session:
    return accounts.signup("ada", admin=True)


@pytest.fixture
def upload(client: Http) -> Callable[[Session], str]:
    """Upload a small PNG as ``session``'s user; returns the image id."""

    def send(session: Session) -> str:
        reply = client.post(
            "/images", body=png(), headers={**session.headers, "Content-Type": "image/png"}
        )
        assert reply.status == 201, reply.body
        image_id: str = reply.json["id"]
        return image_id

    return send


@pytest.fixture
def publish(client: Http) -> Callable[..., dict[str, Any]]:
    def create(session: Session, **fields: Any) -> dict[str, Any]:
        body = {"title": "A post", **fields}
        reply = client.post("/posts", json=body, headers=session.headers)
        assert reply.status == 201, reply.body
        post: dict[str, Any] = reply.json
        return post

    return create
