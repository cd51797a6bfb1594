"""The shim under the real app server (granian, ``python -m ec2.server``) on a loopback port.

The same command `make serve` and the systemd unit run; only the address differs.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
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
from tests.support import Headers, free_port, wait_until_serving


def _request(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, Headers, Any]:
    """Status, headers (any case, as HTTP says: granian sends them lower-case) and JSON body."""
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, Headers(dict(response.headers)), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, Headers(dict(error.headers)), json.loads(error.read())


def server_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ec2.server", *args]


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "STAGE", "JWT"))}
    return env | {"DATA_DIR": str(data_dir)}


@contextmanager
def app_server(*args: str, data_dir: Path, log: Path) -> Iterator[tuple[str, int]]:
    """``python -m ec2.server`` on a free loopback port; yields its URL and the main pid."""
    port = free_port()
    env = embedded_env(data_dir) | {"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    command = server_command("--bind", f"127.0.0.1:{port}", *args)
    with log.open("ab") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            # The first start of an embedded store loads the demo data set first.
            wait_until_serving(f"{base}/health", server, "the app server", seconds=90)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{log.read_text()}") from None
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("server")
    log = tmp / "server.log"
    with app_server(data_dir=tmp / "data", log=log) as (base, _):
        yield base, log


def test_the_server_serves_health_and_ready_on_the_embedded_defaults(
    served: tuple[str, Path],
) -> None:
    base, _ = served
    status, headers, body = _request(f"{base}/health", headers={"X-Request-Id": "smoke-1"})
    assert (status, body) == (200, {"status": "ok"})
    assert headers["X-Request-Id"] == "smoke-1"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, _, body = _request(f"{base}/ready")
    assert (status, body["status"]) == (200, "ready")


@pytest.mark.parametrize("path", ["/no-such-thing", "/no/such/thing/at/all"])
def test_the_server_answers_unknown_paths_of_any_depth_with_a_404_problem(
    served: tuple[str, Path], path: str
) -> None:
    status, headers, body = _request(f"{served[0]}{path}")
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert body["code"] == "not_found"


def test_the_server_answers_head_with_the_gets_headers_and_length_and_no_content(
    served: tuple[str, Path],
) -> None:
    host, port = served[0].removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/health")
        got = connection.getresponse()
        length = len(got.read())
        connection.request("HEAD", "/health")  # the same connection: framing must hold
        head = connection.getresponse()
        assert head.status == 200
        assert head.getheader("Content-Length") == str(length)
        assert head.getheader("Content-Type") == "application/json"
        assert head.read() == b""
        connection.request("GET", "/health")
        assert json.loads(connection.getresponse().read()) == {"status": "ok"}
    finally:
        connection.close()


def test_the_server_refuses_a_body_over_six_mib_before_it_arrives(served: tuple[str, Path]) -> None:
    host, port = served[0].removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        # Headers only: the answer must come without the server waiting for the body.
        connection.putrequest("POST", "/health")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(6 * 1024 * 1024 + 1))
        connection.endheaders()
        response = connection.getresponse()
        # Lambda would never be invoked: API Gateway's answer, not the app's.
        assert response.status == 413
        assert response.getheader("Content-Type") == "application/json"
        assert json.loads(response.read()) == {"message": "Request Too Long"}
    finally:
        connection.close()


def test_one_json_access_line_per_request_and_no_query_string(served: tuple[str, Path]) -> None:
    base, log = served
    _request(f"{base}/health?token=secret-in-query", headers={"X-Request-Id": "logged-1"})
    deadline = time.monotonic() + 5
    while True:
        lines = [
            json.loads(line)
            for line in log.read_text().splitlines()
            if line.startswith("{") and '"request_id"' in line and '"status"' in line
        ]
        mine = [entry for entry in lines if entry["request_id"] == "logged-1"]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(mine) == 1
    assert (mine[0]["method"], mine[0]["path"], mine[0]["status"]) == ("GET", "/health", 200)
    assert "secret-in-query" not in log.read_text()


def _concurrent(base: str, count: int) -> list[dict[str, Any]]:
    def call(n: int) -> dict[str, Any]:
        return _request(f"{base}/echo", headers={"X-Probe": str(n)})[2]  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(call, range(count)))


def test_concurrent_requests_on_the_servers_threads_each_see_their_own_request_and_context(
    tmp_path: Path,
) -> None:
    flags = ("tests.ec2.probe:application", "--threads", "8", "--workers", "1")
    with app_server(*flags, data_dir=tmp_path, log=tmp_path / "log") as (base, _):
        answers = _concurrent(base, 64)
    assert [a["probe"] for a in answers] == [str(n) for n in range(64)]
    assert [a["event"]["headers"]["X-Probe"] for a in answers] == [str(n) for n in range(64)]
    assert len({a["request_id"] for a in answers}) == 64
    assert all(a["request_id"] == a["event"]["requestContext"]["requestId"] for a in answers)


def _worker_pid(server_pid: int) -> int:
    """The one worker of the server's main process (its only child)."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def _wait_for_a_new_worker(server_pid: int, old: int, base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
        if children and int(children[0]) != old:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=5):
                    return
            except OSError:
                pass
        assert time.monotonic() < deadline, "the server started no new worker"
        time.sleep(0.2)


def test_accounts_sessions_posts_and_images_outlive_a_killed_worker_and_a_restart(
    tmp_path: Path,
) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    with app_server(data_dir=data, log=log) as (base, master):
        left = kept.leave_something(base, data)
        # A worker killed outright (the OOM killer, a crash in C code): SIGKILL.
        worker = _worker_pid(master)
        os.kill(worker, signal.SIGKILL)
        _wait_for_a_new_worker(master, worker, base)
        left = kept.assert_still_there(base, data, left)
    with app_server(data_dir=data, log=log) as (base, _):
        kept.assert_still_there(base, data, left)
    output = log.read_text()
    assert output.count("demo: 4 people, 48 posts, 99 images loaded") == 1
    assert output.count("already has accounts, nothing loaded") == 1
    assert output.count(f"ann@demo.snapboard.test / {demo.DEMO_PASSWORD}") == 2


def test_make_serve_keeps_answering_while_slow_clients_hold_connections(tmp_path: Path) -> None:
    # Each half-sent request holds one of the worker's threads while it waits for the
    # body (nginx absorbs such clients on a host); the others still answer /health.
    data, log = tmp_path / "data", tmp_path / "server.log"
    with app_server(data_dir=data, log=log) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        slow = []
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n{")
            slow.append(client)
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=10) as reply:
                assert reply.status == 200
        finally:
            for client in slow:
                client.close()


def test_a_second_server_on_the_same_data_dir_stops_and_says_why(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    with app_server(data_dir=data, log=log) as (base, master):
        command = server_command("--bind", f"127.0.0.1:{free_port()}")
        second = subprocess.run(
            command, cwd=ROOT, env=embedded_env(data), capture_output=True, timeout=60
        )
        assert second.returncode != 0
        assert f"in use by process {_worker_pid(master)}".encode() in second.stderr
        assert _request(f"{base}/health")[0] == 200


def test_a_ctrl_c_of_the_whole_process_group_stops_every_worker_gracefully(tmp_path: Path) -> None:
    # A terminal's Ctrl-C signals the main process and its workers at once; the main
    # then tells each worker to stop. No worker may be left to the kill timeout.
    # Several rounds: the race this guards against is lost about one time in three.
    env = embedded_env(tmp_path) | {"MONGODB_URI": "mongodb://127.0.0.1:9"}  # never dialled
    for round_ in range(5):
        port = free_port()
        log = tmp_path / f"server-{round_}.log"
        command = server_command("bench.baselines:bare", "--bind", f"127.0.0.1:{port}")
        with log.open("wb") as output:
            server = subprocess.Popen(
                [*command, "--workers", "2"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/health", server, "the app server")
            while (
                len(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()) < 2
            ):
                time.sleep(0.05)  # both workers forked
            time.sleep(0.5)  # and serving
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        assert "refused to gracefully stop" not in log.read_text()
        assert "Granian shutdown completed" in log.read_text()
