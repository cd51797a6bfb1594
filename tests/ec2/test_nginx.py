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
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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
    def do_GET(self) -> None:
        body = f"proto={self.headers.get('X-Forwarded-Proto')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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

    def start(shape: str, site_text: str | None = None, upstream_at: str | None = None) -> Edge:
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
        shutil.copy(EC2 / "nginx-proxy.conf", tmp / "proxy.conf")
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
