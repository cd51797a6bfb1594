"""`make run`'s web side: the built app on WEB_PORT, `/api/*` proxied as Vercel rewrites it.

The browser talks to the web origin only, so everything the API hands a browser
(image URLs, the refresh cookie's path, the links it mails) must point there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support import free_port, wait_until_serving

DEVSERVER = ROOT / "tools" / "devserver.py"
DIST = ROOT / "frontend" / "dist" / "index.html"


@dataclass(frozen=True)
class System:
    web: str
    api: str
    data: Path
    process: subprocess.Popen[bytes]


def _request(
    url: str, *, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@contextmanager
def make_run(data: Path) -> Iterator[System]:
    """`make run` on free loopback ports with its embedded defaults, stopped on exit."""
    if not DIST.exists():
        pytest.fail("frontend/dist is missing: `make pytest` builds it (make web-build)")
    api_port, web_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGODB_", "STAGE", "PUBLIC_BASE_URL", "FRONTEND_URL", "AUTH_COOKIE"))
    }
    env["DATA_DIR"] = str(data)
    process = subprocess.Popen(
        [sys.executable, str(DEVSERVER), "--port", str(api_port), "--web-port", str(web_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    web = f"http://127.0.0.1:{web_port}"
    try:
        wait_until_serving(f"{web}/api/health", process, "make run (web + API)", seconds=90)
        yield System(web=web, api=f"http://127.0.0.1:{api_port}", data=data, process=process)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    with make_run(tmp_path_factory.mktemp("data")) as running:
        yield running


def test_app_routes_and_deep_links_serve_the_single_page_app(system: System) -> None:
    for path in ["/", "/p/6b0e8811ed9048c4977cfa59", "/u/ann", "/verify-email?token=abc"]:
        status, headers, body = _request(system.web + path)
        assert status == 200, path
        assert headers["Content-Type"].startswith("text/html"), path
        assert b'<div id="root">' in body, path


def test_api_paths_reach_the_api_without_the_prefix_as_on_vercel(system: System) -> None:
    status, _, body = _request(f"{system.web}/api/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, headers, body = _request(f"{system.web}/api/no-such-route")
    assert status in (403, 404)  # the API's answer (chalice local: 403 for unknown depths)
    assert headers["Content-Type"].startswith("application/")


def test_images_are_served_through_the_web_origin(system: System) -> None:
    status, _, body = _request(f"{system.web}/api/posts?limit=3")
    assert status == 200
    image = next(img for post in json.loads(body)["items"] for img in post["images"])
    for url in [image["url"], image["variants"]["card"], image["placeholder"]]:
        assert url.startswith(f"{system.web}/api/media/"), url
    status, headers, data = _request(
        image["variants"]["thumb"], headers={"Accept": "image/avif,image/webp,image/*,*/*;q=0.8"}
    )
    assert status == 200
    assert headers["Content-Type"].startswith("image/")
    assert len(data) > 100


def test_the_refresh_cookie_lives_on_the_proxied_auth_path(system: System) -> None:
    status, headers, body = _request(
        f"{system.web}/api/auth/login",
        method="POST",
        body={"email": "ann@demo.snapboard.test", "password": "snapboard-demo-1"},
    )
    assert status == 200, body
    cookie = headers["Set-Cookie"]
    assert "Path=/api/auth" in cookie
    assert "HttpOnly" in cookie
    token = cookie.split(";", 1)[0]
    status, _, body = _request(
        f"{system.web}/api/auth/refresh", method="POST", body={}, headers={"Cookie": token}
    )
    assert status == 200, body
    assert json.loads(body)["user"]["username"] == "ann"


def test_mailed_links_open_the_web_app(system: System) -> None:
    status, _, body = _request(
        f"{system.web}/api/auth/register",
        method="POST",
        body={"email": "web@example.com", "username": "webcheck", "password": "violet-harbour-71"},
    )
    assert status == 201, body
    mail = next((system.data / "outbox").glob("*.eml")).read_text()
    assert f"{system.web}/verify-email?token=" in mail.replace("=\n", "")


def test_stopping_make_run_stops_the_web_server_too(tmp_path: Path) -> None:
    with make_run(tmp_path) as running:
        web_port = int(running.web.rsplit(":", 1)[1])
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", web_port))
