"""Fixtures: settings from dicts, a fresh database per test, a client per runtime.

``client`` is parametrized by runtime so every functional test can run on each
way the app is served: Chalice's gateway (what ``chalice local`` and the Lambda
handler run) and the EC2 WSGI shim (``ec2/shim.py``, called in-process).

Data tests run on the embedded stand-in (mongomock). With ``MONGODB_URI`` set
they run a second time against that server, marked ``integration``, each test
in a database of its own that is dropped afterwards.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes
from wsgiref.util import setup_testing_defaults

import mongomock
import pytest
from chalice.test import Client

from chalicelib.auth import service as auth_service
from chalicelib.composition import Clients, create_app, forget_process_clients
from chalicelib.principal import Principal
from chalicelib.resources import Resources
from chalicelib.routing import Api, Context
from chalicelib.settings import Settings
from tests.support import CHEAP_HASHER, FakeClock, Headers, Http, Reply, call_wsgi

# The query-counting fixtures (counted, counting_svc), for the modules that count.
pytest_plugins = ["tests.querycount"]

ROOT = Path(__file__).resolve().parents[1]
REAL_MONGODB_URI = os.environ.get("MONGODB_URI")

_BACKENDS = [pytest.param("mongomock", id="mongomock")]
if REAL_MONGODB_URI:
    _BACKENDS.append(pytest.param("mongodb", id="mongodb", marks=pytest.mark.integration))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--lambda-package",
        metavar="DIR",
        help="`chalice package` output for tests/test_lambda_package.py (make package)",
    )


@pytest.fixture
def no_reset_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Password-reset answers without their timing floor (tests of the floor set their own)."""
    monkeypatch.setattr(auth_service, "RESET_RESPONSE_FLOOR_SECONDS", 0)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings from a dict of environment variables, with data kept under tmp_path."""

    def make(env: dict[str, str] | None = None) -> Settings:
        return Settings.from_env({"DATA_DIR": str(tmp_path / "data"), **(env or {})})

    return make


@pytest.fixture(params=_BACKENDS)
def mongo_client(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "mongomock":
        yield mongomock.MongoClient(tz_aware=True)
        return
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(REAL_MONGODB_URI, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def db_name(mongo_client: Any) -> Iterator[str]:
    name = f"snapboard_test_{uuid.uuid4().hex[:12]}"
    yield name
    mongo_client.drop_database(name)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], db_name: str, mongo_client: Any) -> Settings:
    env = {"MONGODB_DB": db_name}
    if REAL_MONGODB_URI and not isinstance(mongo_client, mongomock.MongoClient):
        # The settings say what the client is: code that asks (text search) takes the real path.
        env["MONGODB_URI"] = REAL_MONGODB_URI
    return make_settings(env)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc(settings: Settings, mongo_client: Any, clock: FakeClock) -> Clients:
    """This test's clients: its settings, database and clock."""
    return Clients(settings, mongo_client=mongo_client, password_hasher=CHEAP_HASHER, clock=clock)


@pytest.fixture
def db(svc: Clients) -> Any:
    return svc.db


def chalice_transport(app: Any) -> Callable[..., Reply]:
    """Requests through Chalice's API Gateway emulation, as on Lambda."""
    chalice_client = Client(app, stage_name="dev", project_dir=str(ROOT))

    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        reply = chalice_client.http.request(method, path, headers=headers, body=body)
        return Reply(reply.status_code, Headers(reply.headers), reply.body)

    return send


def wsgi_transport(app: Any) -> Callable[..., Reply]:
    """Requests through the EC2 WSGI shim, called in-process the way gunicorn calls it."""
    from ec2.shim import Shim, ShimConfig

    shim = Shim(app, ShimConfig.load({}))

    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        target, _, query = path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            # PEP 3333: PATH_INFO is the decoded path, its bytes carried as latin-1.
            "PATH_INFO": unquote_to_bytes(target).decode("latin-1"),
            "QUERY_STRING": query,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
        setup_testing_defaults(environ)
        status, sent, payload = call_wsgi(shim, environ)
        merged: dict[str, list[str]] = {}
        for name, value in sent:
            merged.setdefault(name, []).append(value)
        flat = {name: values[0] if len(values) == 1 else values for name, values in merged.items()}
        return Reply(status, Headers(flat), payload)

    return send


RUNTIMES = ["lambda", "wsgi"]
TRANSPORTS = {"lambda": chalice_transport, "wsgi": wsgi_transport}


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def principals() -> dict[str, Principal]:
    """Access tokens the ``sign_in`` fixture made up, and whom they stand for."""
    return {}


def build_app(clients: Resources | None, principals: dict[str, Principal]) -> Api:
    """A fresh app serving ``clients`` (None: the process's), accepting ``principals``' tokens."""
    app = create_app(clients)
    real = app.authenticator

    def authenticate(ctx: Context) -> Any:
        token = ctx.request.headers.get("authorization", "").removeprefix("Bearer ")
        if token in principals:
            return principals[token]
        return real(ctx)

    app.authenticator = authenticate
    return app


@pytest.fixture
def serve(runtime: str, principals: dict[str, Principal]) -> Callable[[Resources | None], Http]:
    """``serve(clients)``: an HTTP client for a fresh app serving those clients.

    ``serve(None)`` serves the process's clients, built from the environment.
    """

    def make(clients: Resources | None) -> Http:
        return Http(TRANSPORTS[runtime](build_app(clients, principals)))

    return make


@pytest.fixture
def app(svc: Clients, principals: dict[str, Principal]) -> Api:
    """The app, built for this test from its clients."""
    return build_app(svc, principals)


@pytest.fixture
def client(runtime: str, app: Api) -> Http:
    """An HTTP client for the test's app on the runtime under test."""
    return Http(TRANSPORTS[runtime](app))


@pytest.fixture
def process_clients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's clients are built afresh from the environment, and forgotten after.

    Their data (the embedded store, the dev keys) stays under tmp_path.
    """
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "process-data"))
    forget_process_clients()
    yield
    forget_process_clients()


@pytest.fixture
def sign_in(principals: dict[str, Principal]) -> Callable[[Principal], dict[str, str]]:
    """Stand-in sign-in for tests of features other than accounts.

    ``headers = sign_in(Principal(...))`` makes the app accept those headers as
    that principal, without the accounts machinery. Tests of authentication
    itself log in for real.
    """

    def headers_for(principal: Principal) -> dict[str, str]:
        token = f"test-principal-{uuid.uuid4().hex}"
        principals[token] = principal
        return {"Authorization": f"Bearer {token}"}

    return headers_for


@pytest.fixture
def accounts(client: Http, svc: Clients) -> Any:
    """Sign-up, verification and login through the HTTP API (see tests/accounts.py)."""
    from tests.accounts import Accounts

    return Accounts(client, svc)
