"""`make run` loads the demo data and serves the API through `chalice local`: talk HTTP to it.

The web app in front of it is tested in tests/test_web_server.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chalicelib import demo
from tests import kept
from tests.conftest import ROOT
from tests.support import free_port, wait_until_serving

DEVSERVER = ROOT / "tools" / "devserver.py"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture(scope="module")
def chalice_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "STAGE"))}
    env["DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, str(DEVSERVER), "--port", str(port), "--web", "none"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/health", server, "make run (chalice local)")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_chalice_local_serves_health_and_ready_on_the_embedded_defaults(chalice_local: str) -> None:
    status, headers, body = _get(f"{chalice_local}/health", {"X-Request-Id": "smoke-1"})
    assert (status, body) == (200, {"status": "ok"})
    assert headers["X-Request-Id"] == "smoke-1"
    status, _, body = _get(f"{chalice_local}/ready")
    assert (status, body["status"]) == (200, "ready")


def test_chalice_local_answers_unknown_paths_with_a_problem(chalice_local: str) -> None:
    status, headers, body = _get(f"{chalice_local}/no-such-thing")
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert body["code"] == "not_found"


def test_chalice_local_keeps_concurrent_requests_apart(chalice_local: str) -> None:
    def call(n: int) -> str:
        _, headers, _ = _get(f"{chalice_local}/health", {"X-Request-Id": f"r{n}"})
        return headers["X-Request-Id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(call, range(40))) == [f"r{n}" for n in range(40)]


def test_the_feed_starts_with_the_demo_data_and_its_images_load(chalice_local: str) -> None:
    status, _, page = _get(f"{chalice_local}/posts?limit=5")
    assert status == 200
    assert len(page["items"]) == 5
    assert page["next_cursor"] is not None
    image = next(item["images"][0] for item in page["items"] if item["images"])
    browser_accept = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
    request = urllib.request.Request(image["variants"]["thumb"], headers={"Accept": browser_accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("image/")
        assert len(response.read()) > 100


@contextmanager
def make_run(data_dir: Path, log: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "STAGE", "JWT"))}
    env |= {"DATA_DIR": str(data_dir), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    with log.open("ab") as output:
        server = subprocess.Popen(
            [sys.executable, str(DEVSERVER), "--port", str(port), "--web", "none"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/health", server, "make run (chalice local)", seconds=90)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_make_run_keeps_accounts_sessions_posts_and_images_across_a_restart(
    tmp_path: Path,
) -> None:
    data, log = tmp_path / "data", tmp_path / "make-run.log"
    with make_run(data, log) as base:
        left = kept.leave_something(base, data)
    with make_run(data, log) as base:
        kept.assert_still_there(base, data, left)
    output = log.read_text()
    assert output.count("demo data loaded: 4 people, 48 posts") == 1
    assert output.count(f"ann@demo.snapboard.test / {demo.DEMO_PASSWORD}") == 2
