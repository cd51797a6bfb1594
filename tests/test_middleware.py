"""Middleware behaviour on the real app, on every runtime."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import wire
from chalicelib.composition import Clients
from chalicelib.settings import Settings
from tests.support import Http

WILDCARD_ENV = {
    "CORS_ORIGINS": "http://localhost:5173,https://snapboard-*-acme.vercel.app",
}


@pytest.fixture
def cors_client(serve: Callable[[Clients], Http], svc: Clients) -> Http:
    settings = Settings.from_env({**WILDCARD_ENV, "MONGODB_DB": svc.settings.mongodb_db})
    return serve(Clients(settings, mongo_client=svc.mongo_client))


def test_a_sane_client_request_id_is_echoed(client: Http) -> None:
    reply = client.get("/health", headers={"X-Request-Id": "abc-123.def_456"})
    assert reply.headers["x-request-id"] == "abc-123.def_456"


@pytest.mark.parametrize(
    "supplied",
    ["", "has spaces", "x" * 200, "<script>", "a\u00e9b", "abc\n", "abc\r\nSet-Cookie: x=1"],
)
def test_an_insane_request_id_is_replaced(client: Http, supplied: str) -> None:
    reply = client.get("/health", headers={"X-Request-Id": supplied})
    assert reply.headers["x-request-id"] != supplied
    assert len(reply.headers["x-request-id"]) == 32


def test_every_response_gets_a_fresh_request_id(client: Http) -> None:
    ids = {client.get(path).headers["x-request-id"] for path in ("/health", "/nope", "/health")}
    assert len(ids) == 3


@pytest.mark.parametrize("path", ["/health", "/nope", "/openapi.json"])
def test_security_headers_are_on_every_response(client: Http, path: str) -> None:
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_authenticated_responses_are_not_stored(client: Http) -> None:
    assert (
        client.get("/health", headers={"Authorization": "Bearer x"}).headers["cache-control"]
        == "no-store"
    )
    assert client.get("/health").headers["cache-control"] == "no-cache"


def test_errors_are_not_cached(client: Http) -> None:
    assert client.get("/nope").headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "origin", ["http://localhost:5173", "https://snapboard-git-feat-1-acme.vercel.app"]
)
def test_an_allowed_origin_gets_cors_headers(cors_client: Http, origin: str) -> None:
    headers = cors_client.get("/health", headers={"Origin": origin}).headers
    assert headers["access-control-allow-origin"] == origin
    assert headers["access-control-allow-credentials"] == "true"
    assert "X-Request-Id" in headers["access-control-expose-headers"]
    assert "Origin" in headers["vary"]


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "https://snapboard-x-acme.vercel.app.evil.example", "null"],
)
def test_a_disallowed_origin_gets_no_cors_headers(cors_client: Http, origin: str) -> None:
    reply = cors_client.get("/health", headers={"Origin": origin})
    assert reply.status == 200
    assert not [h for h in reply.headers if h.startswith("access-control-")]


def test_a_preflight_is_answered_for_an_allowed_origin(cors_client: Http) -> None:
    reply = cors_client.options(
        "/health",
        headers={
            "Origin": "https://snapboard-pr-7-acme.vercel.app",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization, X-Evil",
        },
    )
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == "https://snapboard-pr-7-acme.vercel.app"
    assert reply.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert reply.headers["access-control-allow-headers"] == "authorization"
    assert int(reply.headers["access-control-max-age"]) > 0


def test_a_preflight_from_a_disallowed_origin_gets_no_cors_headers(cors_client: Http) -> None:
    reply = cors_client.options(
        "/health",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in reply.headers


def test_a_body_over_the_limit_is_a_413_problem(client: Http) -> None:
    # Within Lambda's event limit, so the app answers on both runtimes.
    reply = client.post(
        "/health",
        body=b"x" * (wire.MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 413
    assert reply.problem["code"] == "payload_too_large"


def test_a_content_length_of_thousands_of_digits_is_a_413(client: Http) -> None:
    reply = client.post("/health", body=b"", headers={"Content-Length": "9" * 5000})
    # On EC2 the shim refuses it first, as API Gateway would on Lambda ({"message": ...}).
    assert reply.status == 413


def test_a_content_length_of_non_ascii_digits_is_ignored_not_a_500(client: Http) -> None:
    reply = client.post("/health", body=b"", headers={"Content-Length": "\u00b2"})  # "²"
    assert reply.status == 405


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_log() -> Iterator[_Capture]:
    from chalicelib.logs import JsonFormatter

    capture = _Capture()
    capture.setFormatter(JsonFormatter())
    logger = logging.getLogger("snapboard.access")
    logger.addHandler(capture)
    yield capture
    logger.removeHandler(capture)


def test_one_json_access_line_per_request_without_body_or_secrets(
    client: Http, access_log: _Capture
) -> None:
    client.post(
        "/health",
        json={"password": "correct horse battery"},
        headers={"Authorization": "Bearer sekrit-token", "X-Request-Id": "req-1"},
    )
    assert len(access_log.lines) == 1
    entry = json.loads(access_log.lines[0])
    assert entry["event"] == "request"
    assert entry["method"] == "POST"
    assert entry["path"] == "/health"
    assert entry["status"] == 405
    assert entry["request_id"] == "req-1"
    assert isinstance(entry["duration_ms"], float)
    assert "correct horse" not in access_log.lines[0]
    assert "sekrit-token" not in access_log.lines[0]


def test_the_access_line_names_the_route_template_not_the_raw_path(
    client: Http, access_log: _Capture
) -> None:
    client.get("/some-unknown-thing")
    assert json.loads(access_log.lines[0])["path"] == "/{proxy+}"


def test_responses_to_writes_are_not_stored(client: Http) -> None:
    reply = client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "whatever-long"}
    )
    assert reply.headers["cache-control"] == "no-store"


def test_a_route_that_declares_its_caching_keeps_it_for_signed_in_callers(
    client: Http, sign_in: Any
) -> None:
    import io

    from PIL import Image

    from chalicelib.principal import Principal

    headers = sign_in(Principal("6b0000000000000000000001", "ann", frozenset({"user"}), True))
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(picture, format="PNG")
    uploaded = client.post(
        "/images", body=picture.getvalue(), headers={**headers, "Content-Type": "image/png"}
    )
    url = uploaded.json["variants"]["thumb"].split("://", 1)[1].split("/", 1)[1]
    media = client.get(f"/{url}", headers={**headers, "Accept": "image/*", "Cookie": "a=b"})
    assert media.status == 200
    # A signed URL: cacheable by this browser until the signature expires, never shared.
    assert media.headers["cache-control"].startswith("private, max-age=")
