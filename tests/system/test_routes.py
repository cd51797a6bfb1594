from __future__ import annotations

import base64
import hashlib
import re
import socket
from collections.abc import Callable, Iterator

import pytest

from chalicelib.composition import Clients
from chalicelib.settings import Settings
from chalicelib.system.models import Health
from chalicelib.system.routes import HEALTH_BODY
from tests.support import Http


def test_health_answers_ok(client: Http) -> None:
    reply = client.get("/health")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json == {"status": "ok"}


def test_the_written_out_health_answer_is_what_its_model_encodes() -> None:
    assert Health().model_dump_json() == HEALTH_BODY


def test_health_builds_no_client(serve: Callable[[Clients], Http]) -> None:
    lazy = Clients(Settings.from_env({"MONGODB_URI": "mongodb://127.0.0.1:9/"}))
    assert serve(lazy).get("/health").status == 200
    assert "mongo_client" not in lazy._built


def test_ready_answers_when_the_database_pings(client: Http) -> None:
    reply = client.get("/ready")
    assert reply.status == 200
    assert reply.json == {"status": "ready", "database": "ok"}


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]  # bound, never listening: connections are refused


def test_ready_is_a_503_problem_with_retry_after_when_mongo_is_unreachable(
    serve: Callable[[Clients], Http], closed_port: int
) -> None:
    uri = f"mongodb://127.0.0.1:{closed_port}/?serverSelectionTimeoutMS=300"
    unreachable = Clients(Settings.from_env({"MONGODB_URI": uri}))
    try:
        reply = serve(unreachable).get("/ready")
    finally:
        unreachable.mongo_client.close()
    assert reply.status == 503
    assert reply.problem["code"] == "not_ready"
    assert int(reply.headers["retry-after"]) > 0
    assert str(closed_port) not in reply.problem["detail"]


def test_the_index_links_to_the_docs(client: Http) -> None:
    assert client.get("/").json == {"name": "snapboard", "docs": "docs", "openapi": "openapi.json"}


def test_docs_is_a_self_contained_page_whose_csp_allows_only_its_own_code(client: Http) -> None:
    reply = client.get("/docs")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    page = reply.body.decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no asset from elsewhere"
    assert 'fetch("openapi.json")' in page
    csp = reply.headers["content-security-policy"]
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        source = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
        assert source is not None
        digest = base64.b64encode(hashlib.sha256(source.group(1).encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp


@pytest.mark.usefixtures("process_clients")
def test_a_bad_environment_fails_requests_that_need_it_with_a_500_problem(
    serve: Callable[[Clients | None], Http], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "carrier-pigeon")
    client = serve(None)
    reply = client.get("/ready")
    assert reply.status == 500
    assert reply.problem["code"] == "internal"
    assert b"MAIL_BACKEND" not in reply.body
    assert client.get("/health").status == 200
