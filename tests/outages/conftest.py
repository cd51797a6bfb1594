"""Outage fixtures: the whole app over pymongo's real network path to a scripted server.

``mongo`` is a MongoDB wire-protocol server on 127.0.0.1 (tests/mongowire.py)
that the test scripts to refuse, drop, stall or reject commands. The app is
built by the composition root from ``MONGODB_URI`` as in production, so every
failure travels through a real ``MongoClient``. The server is stopped after
each test. One runtime suffices: the boundary is the view wrapper, which both
runtimes share (tests/test_routing.py checks they answer alike).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.composition import Clients
from chalicelib.images.imagekit import ImageKitStore
from chalicelib.settings import Settings
from tests.images.conftest import fake_imagekit, imagekit_store
from tests.mongowire import ScriptedMongo
from tests.support import CHEAP_HASHER, FakeClock, Http

__all__ = [
    "fake_imagekit",
    "imagekit_store",
]  # ImageKit faked over HTTP (respx), as in tests/images

DB_NAME = "snapboard"


@pytest.fixture
def mongo() -> Iterator[ScriptedMongo]:
    server = ScriptedMongo().start()
    yield server
    server.stop()


@pytest.fixture
def runtime() -> str:
    return "lambda"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], mongo: ScriptedMongo) -> Settings:
    return make_settings({"MONGODB_URI": mongo.uri, "MONGODB_DB": DB_NAME})


@pytest.fixture
def svc(settings: Settings, clock: FakeClock) -> Iterator[Clients]:
    """The app's clients, its ``MongoClient`` built from the settings' URI."""
    clients = Clients(settings, password_hasher=CHEAP_HASHER, clock=clock)
    yield clients
    clients.mongo_client.close()


@pytest.fixture
def stored(mongo: ScriptedMongo) -> Any:
    """The server's side of the database: what was really written, read without the wire."""
    return mongo.data[DB_NAME]


@pytest.fixture
def imagekit_client(
    serve: Callable[[Clients], Http], svc: Clients, imagekit_store: ImageKitStore
) -> Http:
    """An app on the same database whose image store is ImageKit (the real SDK, faked over HTTP)."""
    clients = Clients(
        svc.settings,
        mongo_client=svc.mongo_client,
        password_hasher=CHEAP_HASHER,
        clock=svc.clock,
        image_store=imagekit_store,
    )
    return serve(clients)
