"""ImageKit failing, or MongoDB failing after ImageKit took a file: 502 or 503, nothing left.

ImageKit is the real SDK against a fake over HTTP (respx); MongoDB is the
scripted wire-protocol server. A failing ImageKit answers 502 with nothing
recorded; a database failing after the store write deletes the file again.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from tests.accounts import Accounts, Session
from tests.images.conftest import FakeImageKit, make_image
from tests.mongowire import HANG_UP, LOST_REPLY, ScriptedMongo
from tests.outages.test_database import assert_unavailable
from tests.support import Http, Reply

Fake = tuple[FakeImageKit, respx.MockRouter]
UPLOAD = "https://upload.imagekit.io/api/v1/files/upload"
DETAILS = r"https://api\.imagekit\.io/v1/files/(?P<file_id>[^/]+)/details"


@pytest.fixture
def ann(accounts: Accounts) -> Session:
    return accounts.signup("ann")


def upload(client: Http, session: Session) -> Reply:
    return client.post(
        "/images", body=make_image(), headers={**session.headers, "Content-Type": "image/jpeg"}
    )


def register(client: Http, session: Session, fake: FakeImageKit) -> Reply:
    folder = f"/snapboard/users/{session.user['id']}"
    file_id = fake.put(make_image((50, 40)), path=f"{folder}/direct.jpg")
    return client.post("/images/register", json={"file_id": file_id}, headers=session.headers)


@pytest.mark.parametrize("answer", [LOST_REPLY, HANG_UP], ids=["lost reply", "dropped"])
def test_an_upload_whose_database_write_fails_deletes_the_file_from_imagekit(
    imagekit_client: Http,
    ann: Session,
    fake_imagekit: Fake,
    mongo: ScriptedMongo,
    stored: Any,
    answer: str,
) -> None:
    fake, router = fake_imagekit
    mongo.fail("insert", "images", answer=answer, times=2)
    assert_unavailable(upload(imagekit_client, ann))
    _staged, _copy = fake.uploads
    # Both are gone: the published copy (the compensation) and the staged original.
    copy_id, staged_id = fake.deleted
    assert fake.files == {}
    deletes = [call.request for call in router.calls if call.request.method == "DELETE"]
    assert [request.url.path for request in deletes] == [
        f"/v1/files/{copy_id}",
        f"/v1/files/{staged_id}",
    ]
    assert all(doc["status"] == "pending" for doc in stored.images.find())


@pytest.mark.parametrize("status", [500, 503])
def test_an_imagekit_5xx_on_upload_is_a_502_and_nothing_is_recorded(
    imagekit_client: Http, ann: Session, fake_imagekit: Fake, stored: Any, status: int
) -> None:
    fake_imagekit[0].fail["upload"] = status
    reply = upload(imagekit_client, ann)
    assert reply.status == 502
    assert reply.problem["code"] == "image_store_failed"
    assert stored.images.count_documents({}) == 0


def test_an_imagekit_timeout_on_upload_is_a_502_and_nothing_is_recorded(
    imagekit_client: Http, ann: Session, fake_imagekit: Fake, stored: Any
) -> None:
    fake_imagekit[1].post(UPLOAD).mock(side_effect=httpx.ReadTimeout("no answer"))
    assert upload(imagekit_client, ann).status == 502
    assert stored.images.count_documents({}) == 0


def test_an_imagekit_5xx_on_register_is_a_502_and_nothing_is_recorded(
    imagekit_client: Http, ann: Session, fake_imagekit: Fake, stored: Any
) -> None:
    fake_imagekit[0].fail["get"] = 500
    assert register(imagekit_client, ann, fake_imagekit[0]).problem["status"] == 502
    assert stored.images.count_documents({}) == 0


def test_an_imagekit_timeout_on_register_is_a_502_and_nothing_is_recorded(
    imagekit_client: Http, ann: Session, fake_imagekit: Fake, stored: Any
) -> None:
    fake_imagekit[1].get(url__regex=DETAILS).mock(side_effect=httpx.ConnectTimeout("no answer"))
    assert register(imagekit_client, ann, fake_imagekit[0]).status == 502
    assert stored.images.count_documents({}) == 0
