"""`vercel build` on a copy of frontend/, offline, and its routes evaluated as Vercel would.

`vercel build` (npm ``vercel``, the CLI that runs Vercel's own builders) turns
frontend/vercel.json and the Vite build into the Build Output the edge serves:
``.vercel/output/static/`` and ``.vercel/output/config.json``. The tests read
that config's ``routes`` through :class:`Router`, a small evaluator of the Build
Output API's routing (``src`` expressions, ``dest``, ``headers``, ``continue``,
``check``, ``env``, ``handle: filesystem`` / ``error``), so they check what a
request would get, not how vercel.json happens to be spelled.

The backend URL is not in the build: the rewrite's destination is
``$BACKEND_URL/...`` with ``env: ["BACKEND_URL"]``, which Vercel's routing layer
fills per deployment from the project's environment variable. :class:`Router`
takes that variable's value the way the deployment would.

Last, ``vite preview`` (what ``make run`` serves) answers the same paths with the
same status and headers, and sends ``/api/*`` to the API with the same path.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT
from tests.support import free_port, wait_until_serving

FRONTEND = ROOT / "frontend"
NODE_MODULES = FRONTEND / "node_modules"
VERCEL = Path("node_modules/.bin/vercel")
VITE = Path("node_modules/.bin/vite")
BUILD_SECONDS = 300

LAMBDA_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/api"  # API Gateway, stage `api`
EC2_URL = "https://api.snapboard.example.com"  # nginx serves the API at its host's root

APP_ROUTES = [
    "/",
    "/?tag=night&q=harbour",
    "/p/123",
    "/p/123/edit",
    "/new",
    "/u/ann",
    "/login",
    "/verify-email?token=abc.def",
    "/reset-password?token=abc.def",
    "/settings",
    "/admin/users",
    "/no-such-page",
]

EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "blob:", "data:", "https://ik.imagekit.io"],
    "connect-src": ["'self'", "https://upload.imagekit.io"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY_HEADERS = [
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
]


@dataclass(frozen=True)
class Outcome:
    """What the edge does with a request: serve a file, proxy to a URL, or answer an error."""

    kind: Literal["file", "proxy", "error"]
    target: str
    status: int
    headers: dict[str, str]


class Router:
    """The Build Output API's routes, evaluated for one request (path and query).

    Phases as Vercel runs them: the routes before ``handle: filesystem`` (headers,
    ``continue``), then a file of that path, then the rewrites after it (the first
    match ends routing; ``check`` serves the rewritten file), then ``handle: error``.
    A route with a key this evaluator does not know fails the test instead of
    being half-understood.
    """

    KNOWN_KEYS = frozenset({"src", "dest", "headers", "continue", "check", "status", "env"})

    def __init__(self, config: Mapping[str, Any], static: Path, env: Mapping[str, str]) -> None:
        self.static = static
        self.env = env
        self.phases: dict[str, list[dict[str, Any]]] = {"none": []}
        phase = "none"
        for route in config["routes"]:
            if "handle" in route:
                phase = route["handle"]
                self.phases.setdefault(phase, [])
                continue
            unknown = set(route) - self.KNOWN_KEYS
            if unknown:
                raise NotImplementedError(f"route keys not evaluated here: {sorted(unknown)}")
            self.phases.setdefault(phase, []).append(route)

    def resolve(self, url: str) -> Outcome:
        path, _, query = url.partition("?")
        headers: dict[str, str] = {}
        for route in self.phases["none"]:
            match = self._match(route, path)
            if match is None:
                continue
            headers.update(route.get("headers", {}))
            if "dest" in route:
                path = self._dest(route, match)
            if not route.get("continue"):
                break
        if self._is_file(path):
            return Outcome("file", path, 200, headers)
        for route in self.phases.get("filesystem", []):
            match = self._match(route, path)
            if match is None:
                continue
            headers.update(route.get("headers", {}))
            dest = self._dest(route, match)
            if dest.startswith(("https://", "http://")):
                return Outcome("proxy", f"{dest}?{query}" if query else dest, 200, headers)
            if route.get("check") and self._is_file(dest):
                return Outcome("file", dest, 200, headers)
            path = dest
            break
        for route in self.phases.get("error", []):
            if self._match(route, path) is not None:
                return Outcome("error", route.get("dest", ""), route.get("status", 404), headers)
        return Outcome("error", "", 404, headers)

    @staticmethod
    def _match(route: Mapping[str, Any], path: str) -> re.Match[str] | None:
        # JavaScript's named groups, (?<name>...), are Python's (?P<name>...).
        pattern = re.sub(r"\(\?<(?![=!])", "(?P<", route["src"])
        return re.search(pattern, path)

    def _dest(self, route: Mapping[str, Any], match: re.Match[str]) -> str:
        dest: str = route["dest"]
        for name in sorted(route.get("env", []), key=len, reverse=True):
            if name not in self.env:
                raise KeyError(f"the deployment has no environment variable {name}")
            dest = dest.replace(f"${name}", self.env[name])

        def group(ref: re.Match[str]) -> str:
            key = ref.group(1)
            return match.group(int(key) if key.isdigit() else key) or ""

        return re.sub(r"\$(\d+|[a-z_]\w*)", group, dest)

    def _is_file(self, path: str) -> bool:
        file = (self.static / path.lstrip("/")).resolve()
        return file.is_relative_to(self.static.resolve()) and file.is_file()


def parse_csp(value: str) -> dict[str, list[str]]:
    directives = (part.split() for part in value.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


@dataclass(frozen=True)
class Build:
    app: Path  # the copy of frontend/ that was built
    static: Path
    config: dict[str, Any]

    def router(self, backend_url: str = LAMBDA_URL) -> Router:
        return Router(self.config, self.static, {"BACKEND_URL": backend_url})


def _build_env(home: Path) -> dict[str, str]:
    # The backend URL must not reach the build: the deployment supplies it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERCEL", "BACKEND_URL"))}
    env.update(HOME=str(home), NO_UPDATE_NOTIFIER="1", VERCEL_TELEMETRY_DISABLED="1", CI="1")
    return env


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    if not (FRONTEND / VERCEL).exists():
        pytest.fail(
            "frontend/node_modules has no vercel CLI: run `cd frontend && npm ci` "
            "(`make test` installs the frontend's dependencies first)"
        )
    app = tmp_path_factory.mktemp("vercel") / "frontend"
    shutil.copytree(
        FRONTEND,
        app,
        ignore=shutil.ignore_patterns(
            "node_modules", "dist", ".vercel", "lighthouse", "test-results", "playwright-report"
        ),
    )
    (app / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    # What `vercel pull` would write for a linked project. No token is needed to
    # build; an empty install command keeps the CLI off the shared node_modules.
    project = {
        "projectId": "prj_test",
        "orgId": "team_test",
        "settings": {
            "framework": "vite",
            "buildCommand": "npm run build",
            "outputDirectory": "dist",
            "installCommand": "",
            "rootDirectory": None,
        },
    }
    (app / ".vercel").mkdir()
    (app / ".vercel" / "project.json").write_text(json.dumps(project))
    home = app.parent / "home"
    home.mkdir()
    try:
        result = subprocess.run(
            [str(app / VERCEL), "build", "--yes", "--global-config", str(home / ".vercel")],
            cwd=app,
            env=_build_env(home),
            capture_output=True,
            text=True,
            timeout=BUILD_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        log = error.stdout.decode() if isinstance(error.stdout, bytes) else error.stdout
        pytest.fail(f"vercel build did not finish in {BUILD_SECONDS} s:\n{log}")
    if result.returncode != 0:
        pytest.fail(f"vercel build failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    output = app / ".vercel" / "output"
    config = json.loads((output / "config.json").read_text())
    return Build(app=app, static=output / "static", config=config)


def test_vercel_build_writes_the_app_into_its_static_output(build: Build) -> None:
    assert build.config["version"] == 3
    assert (build.static / "index.html").is_file()
    assert '<div id="root">' in (build.static / "index.html").read_text()
    assert list((build.static / "assets").glob("index-*.js"))


@pytest.mark.parametrize("backend", [LAMBDA_URL, EC2_URL], ids=["lambda", "ec2"])
@pytest.mark.parametrize(
    ("path", "backend_path"),
    [
        ("/api/posts", "/posts"),
        ("/api/auth/login", "/auth/login"),
        ("/api/posts?limit=2", "/posts?limit=2"),
        ("/api/posts?tag=night&q=harbour&cursor=abc", "/posts?tag=night&q=harbour&cursor=abc"),
        ("/api/posts/6b0e88a43582a4039540b48d", "/posts/6b0e88a43582a4039540b48d"),
        (
            "/api/media/snapboard/users/u1/a.jpg?tr=w-640,f-auto",
            "/media/snapboard/users/u1/a.jpg?tr=w-640,f-auto",
        ),
        ("/api", "/"),
    ],
)
def test_api_calls_go_to_the_backend_without_the_api_prefix(
    build: Build, backend: str, path: str, backend_path: str
) -> None:
    outcome = build.router(backend).resolve(path)
    assert (outcome.kind, outcome.target) == ("proxy", backend + backend_path)


def test_the_backend_url_comes_from_the_deployment_not_the_build(build: Build) -> None:
    [api_route] = [
        r for r in build.config["routes"] if r.get("dest", "").startswith("$BACKEND_URL")
    ]
    assert api_route["env"] == ["BACKEND_URL"]
    assert "execute-api" not in json.dumps(build.config)
    with pytest.raises(KeyError, match="BACKEND_URL"):
        Router(build.config, build.static, env={}).resolve("/api/posts")


@pytest.mark.parametrize("path", APP_ROUTES)
def test_app_routes_serve_index_html_and_revalidate_it(build: Build, path: str) -> None:
    outcome = build.router().resolve(path)
    assert (outcome.kind, outcome.target, outcome.status) == ("file", "/index.html", 200)
    assert outcome.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/api/posts", "/api/no-such-route", "/api/posts/", "/api/"])
def test_api_paths_never_fall_back_to_index_html(build: Build, path: str) -> None:
    outcome = build.router().resolve(path)
    assert outcome.target != "/index.html"
    assert outcome.kind in {"proxy", "error"}


def test_hashed_assets_are_cached_for_a_year_and_a_missing_one_is_a_404(build: Build) -> None:
    assets = sorted(build.static.glob("assets/*"))
    assert any(a.suffix == ".js" for a in assets)
    assert any(a.suffix == ".css" for a in assets)
    router = build.router()
    for asset in assets:
        path = f"/assets/{asset.name}"
        outcome = router.resolve(path)
        assert (outcome.kind, outcome.target) == ("file", path)
        assert outcome.headers["Cache-Control"] == IMMUTABLE
    # A chunk of an older deployment must fail as a script, not load the page as one.
    missing = router.resolve("/assets/PostPage-00000000.js")
    assert (missing.kind, missing.status) == ("error", 404)


@pytest.mark.parametrize("path", ["/", "/p/123", "/favicon.svg", "ASSET"])
def test_pages_and_files_carry_the_security_headers(build: Build, path: str) -> None:
    if path == "ASSET":
        path = "/assets/" + next(build.static.glob("assets/index-*.js")).name
    headers = build.router().resolve(path).headers
    assert parse_csp(headers["Content-Security-Policy"]) == EXPECTED_CSP
    max_age = re.search(r"max-age=(\d+)", headers["Strict-Transport-Security"])
    assert max_age is not None
    assert int(max_age.group(1)) >= 31536000
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"]


def test_api_responses_keep_the_headers_the_api_sends(build: Build) -> None:
    # The API sets its own, stricter CSP (default-src 'none') and its own caching.
    headers = build.router().resolve("/api/posts?limit=2").headers
    assert not set(headers) & {*SECURITY_HEADERS, "Cache-Control"}


# `vite preview` against a recording stand-in for the API: the same answers, locally.


class _RecordingApi(http.server.ThreadingHTTPServer):
    paths: list[str]


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    server: _RecordingApi

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class Preview:
    url: str
    api: _RecordingApi


@pytest.fixture(scope="module")
def preview(build: Build) -> Iterator[Preview]:
    api = _RecordingApi(("127.0.0.1", 0), _RecordingHandler)
    api.paths = []
    threading.Thread(target=api.serve_forever, daemon=True).start()
    web_port = free_port()
    env = {**os.environ, "PORT": str(api.server_address[1]), "WEB_PORT": str(web_port)}
    server = subprocess.Popen(
        [str(build.app / VITE), "preview"],
        cwd=build.app,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{web_port}"
    try:
        wait_until_serving(url + "/", server, "vite preview")
        yield Preview(url, api)
    finally:
        server.terminate()
        server.wait(timeout=10)
        api.shutdown()
        api.server_close()


def _get(url: str, accept: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, dict(error.headers)


@pytest.mark.parametrize(
    "path", [*APP_ROUTES, "/favicon.svg", "ASSET", "/assets/PostPage-00000000.js", "/index.html"]
)
def test_vite_preview_answers_as_vercel_does(build: Build, preview: Preview, path: str) -> None:
    if path == "ASSET":
        path = "/assets/" + next(build.static.glob("assets/index-*.js")).name
    expected = build.router().resolve(path)
    # Browsers ask for pages with text/html and for scripts with */*.
    accept = "*/*" if path.startswith("/assets/") else "text/html"
    status, headers = _get(preview.url + path, accept)
    assert status == expected.status
    for name in [*SECURITY_HEADERS, "Cache-Control"]:
        assert headers.get(name) == expected.headers.get(name), name


@pytest.mark.parametrize(
    "path", ["/api/posts", "/api/auth/login", "/api/posts?limit=2", "/api/media/a/b.jpg?tr=w-64"]
)
def test_vite_preview_sends_api_calls_to_the_same_backend_path_as_vercel(
    build: Build, preview: Preview, path: str
) -> None:
    backend = build.router(EC2_URL).resolve(path)
    status, _ = _get(preview.url + path, "application/json")
    assert status == 200
    target = urlsplit(backend.target)
    assert preview.api.paths[-1] == target.path + (f"?{target.query}" if target.query else "")
