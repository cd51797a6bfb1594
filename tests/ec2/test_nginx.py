"""ec2/'s nginx sites served by a real nginx, per shape of the stack, in front of a stand-in app.

The stand-in answers every request with the X-Forwarded-Proto nginx sent it, so a test
reads both what nginx did (a redirect, or a proxied answer) and what the app was told.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import ROOT

EC2 = ROOT / "ec2"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(NGINX is None or OPENSSL is None, reason="needs nginx and openssl")
# Which site file each shape of ec2/cloudformation.yaml installs (ec2/release.sh).
SITES = {"instance": "nginx.conf", "alb": "nginx-alb.conf"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _EchoProto(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as the app server speaks it; every connection nginx opens is noted.
    protocol_version = "HTTP/1.1"
    connections: ClassVar[set[tuple[str, int]]] = set()

    def do_GET(self) -> None:
        self.connections.add(self.client_address)
        body = f"proto={self.headers.get('X-Forwarded-Proto')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_PATCH(self) -> None:
        self.do_POST()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoProto)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


@dataclass
class Edge:
    http_port: int
    https_port: int
    acme_root: Path

    def get(
        self, path: str, *, tls: bool = False, headers: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """(status, Location, body) of one request."""
        return self.request(path, tls=tls, headers=headers)[:3]

    def request(
        self, path: str, *, tls: bool = False, headers: dict[str, str] | None = None
    ) -> tuple[int, str, str, str]:
        """(status, Location, body, Content-Type) of one request."""
        if tls:
            context = ssl._create_unverified_context()  # noqa: S323 (the test's own certificate)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.https_port, context=context, timeout=5
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
        try:
            conn.request("GET", path, headers={"Host": "api.snapboard.test", **(headers or {})})
            response = conn.getresponse()
            return (
                response.status,
                response.getheader("Location", ""),
                response.read().decode(),
                response.getheader("Content-Type", ""),
            )
        finally:
            conn.close()


@pytest.fixture
def serve(
    tmp_path_factory: pytest.TempPathFactory, upstream: int
) -> Iterator[Callable[[str], Edge]]:
    started: list[subprocess.Popen[str]] = []

    def start(
        shape: str,
        site_text: str | None = None,
        upstream_at: str | None = None,
        read_timeout: str | None = None,
    ) -> Edge:
        assert NGINX is not None
        assert OPENSSL is not None
        tmp = tmp_path_factory.mktemp(f"nginx-{shape}")
        request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t"]
        key, cert = tmp / "privkey.pem", tmp / "fullchain.pem"
        subprocess.run(
            [OPENSSL, *request, "-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )
        edge = Edge(free_port(), free_port(), tmp / "acme")
        site = site_text if site_text is not None else (EC2 / SITES[shape]).read_text()
        for old, new in {
            "/etc/snapboard/tls": str(tmp),
            "/etc/nginx/snapboard-proxy.conf": str(tmp / "proxy.conf"),
            "/var/lib/snapboard/acme": str(edge.acme_root),
            "unix:/run/snapboard/app.sock": upstream_at or f"127.0.0.1:{upstream}",
            "/etc/nginx/snapboard-errors.conf": str(tmp / "errors.conf"),
            "listen [::]:80 default_server;": "",
            "listen [::]:443 ssl http2 default_server;": "",
            "listen 80 default_server;": f"listen 127.0.0.1:{edge.http_port};",
            "listen 443 ssl http2 default_server;": f"listen 127.0.0.1:{edge.https_port} ssl;",
        }.items():
            site = site.replace(old, new)
        proxy = (EC2 / "nginx-proxy.conf").read_text()
        if read_timeout is not None:
            proxy = proxy.replace("proxy_read_timeout 15s;", f"proxy_read_timeout {read_timeout};")
        (tmp / "proxy.conf").write_text(proxy)
        shutil.copy(EC2 / "nginx-errors.conf", tmp / "errors.conf")
        (tmp / "site.conf").write_text(site)
        temps = " ".join(
            f"{kind}_temp_path {tmp}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (tmp / "nginx.conf").write_text(
            # Workers as root when the test is: pytest's temporary directories are 0700.
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"pid {tmp}/nginx.pid;\nerror_log stderr;\ndaemon off;\nevents {{}}\n"
            f"http {{\n  access_log off;\n  {temps}\n  include {tmp}/site.conf;\n}}\n"
        )
        process = subprocess.Popen(
            [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", edge.http_port), timeout=0.1).close()
                return edge
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(
                        process.stderr.read() if process.stderr else "nginx exited"
                    ) from None
                time.sleep(0.05)
        raise AssertionError("nginx did not start")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


# ------------------------------------------------------------- the ALB shapes


@pytest.mark.parametrize("alb_proto", ["http", "https"])
def test_behind_the_alb_nginx_proxies_whatever_listener_the_request_came_through(
    serve: Callable[[str], Edge], alb_proto: str
) -> None:
    # Without a certificate the ALB has only its port-80 listener: a redirect to https
    # would point at nothing. With one, the ALB itself redirects port 80.
    edge = serve("alb")
    assert edge.get("/posts", headers={"X-Forwarded-Proto": alb_proto}) == (
        200,
        "",
        f"proto={alb_proto}",
    )


def test_behind_the_alb_health_answers_for_the_target_group(serve: Callable[[str], Edge]) -> None:
    assert serve("alb").get("/health")[0] == 200


@pytest.mark.parametrize("shape", ["alb", "instance"])
def test_nginx_keeps_its_upstream_connection_open_across_requests(
    serve: Callable[[str], Edge], shape: str
) -> None:
    # HTTP/1.1 and `keepalive` in the upstream: no connection set up per request.
    edge = serve(shape)
    _EchoProto.connections.clear()
    for _ in range(20):
        assert edge.get("/health")[0] == 200
    assert len(_EchoProto.connections) == 1


@pytest.mark.parametrize("shape", ["alb", "instance"])
def test_nginx_sends_each_post_and_patch_on_a_connection_of_its_own(
    serve: Callable[[str], Edge], shape: str
) -> None:
    # A kept connection a stopping worker closes would lose a write nginx cannot retry.
    edge = serve(shape)
    _EchoProto.connections.clear()
    connection = http.client.HTTPConnection("127.0.0.1", edge.http_port, timeout=5)
    try:
        for method in ("POST", "PATCH") * 5:
            connection.request(method, "/health", body=b"{}", headers={"Host": "api.test"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
    finally:
        connection.close()
    assert len(_EchoProto.connections) == 10


def test_nginx_refuses_a_body_over_six_mib_as_a_problem_before_reading_it(
    serve: Callable[[str], Edge],
) -> None:
    edge = serve("alb")
    connection = http.client.HTTPConnection("127.0.0.1", edge.http_port, timeout=5)
    try:
        connection.putrequest("POST", "/posts")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(7 * 1024 * 1024))
        connection.endheaders()  # headers only: the answer must not wait for a body
        response = connection.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (
            413,
            "application/problem+json",
        )
        assert json.loads(response.read())["code"] == "payload_too_large"
    finally:
        connection.close()


def test_nginx_answers_a_problem_when_the_app_server_is_not_there(
    serve: Callable[..., Edge], tmp_path: Path
) -> None:
    edge = serve("alb", upstream_at=f"unix:{tmp_path}/nobody.sock")
    status, _, body, kind = edge.request("/posts")
    assert (status, kind, json.loads(body)["code"]) == (
        503,
        "application/problem+json",
        "unavailable",
    )


# ------------------------------------------------------------ the single instance


def test_the_instance_serves_lets_encrypts_challenge_over_plain_http(
    serve: Callable[[str], Edge],
) -> None:
    edge = serve("instance")
    challenge = edge.acme_root / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True)
    (challenge / "tok3n").write_text("tok3n.thumbprint")
    assert edge.get("/.well-known/acme-challenge/tok3n") == (200, "", "tok3n.thumbprint")


def test_the_instance_redirects_plain_http_to_https_and_proxies_https(
    serve: Callable[[str], Edge],
) -> None:
    edge = serve("instance")
    assert edge.get("/posts?tag=a")[:2] == (308, "https://api.snapboard.test/posts?tag=a")
    assert edge.get("/posts", tls=True) == (200, "", "proto=https")
    assert edge.get("/health")[0] == 200


def test_the_instance_never_believes_a_clients_x_forwarded_proto(
    serve: Callable[[str], Edge],
) -> None:
    # Without a load balancer in front, a client on port 80 claiming https must still be
    # redirected, and the app must hear the scheme nginx saw, not the claim.
    edge = serve("instance")
    spoofed = {"X-Forwarded-Proto": "https"}
    assert edge.get("/posts", headers=spoofed)[:2] == (308, "https://api.snapboard.test/posts")
    assert edge.get("/health", headers=spoofed) == (200, "", "proto=http")
    assert edge.get("/posts", tls=True, headers={"X-Forwarded-Proto": "http"}) == (
        200,
        "",
        "proto=https",
    )


# ------------------------------------------------------- before the first release


def first_boot_site() -> str:
    """The site the user data installs when no release has been marked current yet."""
    from tests.ec2.template import user_data

    script = user_data(UseLoadBalancer="true")
    [site] = re.findall(r"/etc/nginx/conf.d/snapboard.conf <<'SITE'\n(.*?)\nSITE\n", script, re.S)
    return str(site)


def test_before_the_first_release_the_target_groups_health_check_passes_and_nothing_else(
    serve: Callable[..., Edge],
) -> None:
    # So the Auto Scaling group keeps a new stack's hosts until the first deploy,
    # instead of replacing them every grace period; /ready still says not ready.
    edge = serve("alb", first_boot_site())
    status, _, body, kind = edge.request("/health")
    assert (status, json.loads(body), kind) == (
        200,
        {"status": "ok", "release": None},
        "application/json",
    )
    for path in ("/ready", "/posts"):
        status, _, body, kind = edge.request(path)
        assert (status, kind) == (503, "application/problem+json")
        assert json.loads(body)["status"] == 503


# ------------------------------------------- nginx in front of the real app server


@contextmanager
def app_server_on_a_socket(tmp: Path, *args: str) -> Iterator[tuple[str, int]]:
    """``python -m ec2.server`` on a Unix socket with the embedded store, as on a host.

    Yields nginx's ``unix:`` upstream and the server's main pid.
    """
    socket_path = tmp / "app.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "STAGE", "JWT"))}
    env["DATA_DIR"] = str(tmp / "data")
    command = [sys.executable, "-m", "ec2.server", "--bind", f"unix:{socket_path}", *args]
    with (tmp / "server.log").open("wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 90  # the first start loads the demo data set
        while _unix_status(socket_path, "/health") is None:
            assert server.poll() is None, (tmp / "server.log").read_text()
            assert time.monotonic() < deadline, "the app server did not start"
            time.sleep(0.1)
        yield f"unix:{socket_path}", server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def _unix_status(path: Path, target: str) -> int | None:
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            head = sock.recv(64).decode()
        return int(head.split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _workers(server_pid: int) -> set[int]:
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return {int(child) for child in children}


def test_a_request_past_the_lambda_timeout_gets_a_504_problem_and_the_server_goes_on(
    serve: Callable[..., Edge], tmp_path: Path
) -> None:
    # No signal reaches a request thread; nginx's proxy_read_timeout (15 s, 1 s here) is
    # the bound, and the client gets problem+json, not nginx's HTML page.
    with app_server_on_a_socket(tmp_path, "tests.ec2.probe:application") as (upstream, _):
        edge = serve("alb", upstream_at=upstream, read_timeout="1s")
        status, _, body, kind = edge.request("/slow")
        assert (status, kind) == (504, "application/problem+json")
        assert json.loads(body)["code"] == "timeout"
        assert edge.request("/things/a")[:3] == (200, "", '{"thing_id":"a"}')


def test_a_graceful_restart_under_load_drops_no_request(
    serve: Callable[..., Edge], tmp_path: Path
) -> None:
    # SIGHUP (systemctl reload) replaces the one worker of the embedded store: the new one
    # waits for the store, the old one finishes what it holds, and connections queue on
    # the shared socket meanwhile. Clients keep GETs and POSTs coming through nginx
    # until the new worker has answered; not one may fail.
    with app_server_on_a_socket(tmp_path) as (upstream, pid):
        edge = serve("alb", upstream_at=upstream)
        before = _workers(pid)
        failures: list[str] = []
        answered = [0]
        done = threading.Event()

        def client(method: str) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", edge.http_port, timeout=30)
            # Bounded in count as well as by the restart's end.
            for _ in range(20_000):
                if done.is_set():
                    break
                try:
                    connection.request(method, "/health", body=b"{}" if method == "POST" else None)
                    response = connection.getresponse()
                    response.read()
                    # 200 for a GET; a POST gets API Gateway's 403 from the shim. Anything
                    # nginx says itself (502, 503, 504) is a dropped request.
                    if response.status >= 500:
                        failures.append(f"{method} {response.status}")
                    answered[0] += 1
                except OSError as exc:
                    failures.append(f"{method} {exc!r}")
                    connection.close()
            connection.close()

        clients = [threading.Thread(target=client, args=(m,)) for m in ("GET", "POST") * 3]
        for thread in clients:
            thread.start()
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + 60
        while not ((after := _workers(pid)) and not after & before):
            assert time.monotonic() < deadline, "no new worker replaced the old one"
            time.sleep(0.05)
        served_by_new = answered[0]
        while answered[0] < served_by_new + 50 and time.monotonic() < deadline:
            time.sleep(0.05)  # the new worker answers too
        done.set()
        for thread in clients:
            thread.join(timeout=60)
    assert failures == []
    assert answered[0] > served_by_new


def test_through_the_socket_the_app_sees_the_client_and_the_scheme_nginx_saw(
    serve: Callable[..., Edge], tmp_path: Path
) -> None:
    # The socket's peer has no address; the shim still takes nginx's X-Forwarded-* from it.
    with app_server_on_a_socket(tmp_path, "tests.ec2.probe:application") as (upstream, _):
        edge = serve("instance", upstream_at=upstream)
        status, _, body, _ = edge.request("/echo", tls=True, headers={"X-Forwarded-For": "1.2.3.4"})
    event = json.loads(body)["event"]
    assert status == 200
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Proto"] == "https"


def test_nginx_holds_a_slow_clients_body_so_it_never_pins_a_request_thread(
    serve: Callable[..., Edge], tmp_path: Path
) -> None:
    # One request thread: a body read by the app server as it trickles in would hold it.
    # nginx buffers the whole body first, so the thread stays free for everyone else.
    flags = ("tests.ec2.probe:application", "--threads", "1")
    with app_server_on_a_socket(tmp_path, *flags) as (upstream, _):
        edge = serve("alb", upstream_at=upstream)
        slow = []
        try:
            for _ in range(3):
                client = socket.create_connection(("127.0.0.1", edge.http_port), timeout=10)
                client.sendall(
                    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 64\r\n\r\n{"
                )
                slow.append(client)
            time.sleep(0.5)  # time for nginx to pass them on, were it not holding them
            assert edge.request("/things/a")[:3] == (200, "", '{"thing_id":"a"}')
        finally:
            for client in slow:
                client.close()
