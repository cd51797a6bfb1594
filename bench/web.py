"""Lighthouse on the built web app serving the demo feed, and the initial route's JavaScript.

    .venv/bin/python -m bench.web            (make lighthouse)

1. Builds the app (``npm run build`` in frontend/).
2. Starts the API (tools/devserver.py: embedded database, the demo data, a
   temporary DATA_DIR) and ``vite preview`` (what ``make run`` serves, with the
   production headers), each on a free loopback port; media go through the web
   origin (``/api/media/...``), as on Vercel.
3. Runs Lighthouse 12 (``frontend/node_modules/.bin/lighthouse``, Debian's
   Chromium, the default mobile preset, performance only) against ``/`` twice and
   reports the second run: the local image store makes each variant on its first
   request, so the first run measures variant generation, not the page. Both
   reports are kept in frontend/lighthouse/ (``warmup.json``, ``report.json``).
4. Sums the gzipped size of the JavaScript the initial route loads: the entry
   chunk of index.html and its static imports, from dist/.vite/manifest.json
   (lazy pages are dynamic imports and are left out), cross-checked against the
   scripts and modulepreloads the built index.html names.

Prints each figure against its budget with PASS or FAIL and exits 0 either way:
it is a measurement. Every process it starts is stopped before it returns.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
DIST = FRONTEND / "dist"
REPORTS = FRONTEND / "lighthouse"
LIGHTHOUSE = FRONTEND / "node_modules" / ".bin" / "lighthouse"
VITE = FRONTEND / "node_modules" / ".bin" / "vite"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking"
KB = 1000  # kB, as Vite prints sizes; gzip at level 6, as servers compress on the fly


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float | None  # None: reported, no budget
    higher_is_better: bool = False

    def line(self) -> str:
        value = f"{self.value:.2f} {self.unit}".strip()
        if self.target is None:
            return f"  {self.name:<20}{value:>10}   (no budget)"
        passed = self.value >= self.target if self.higher_is_better else self.value <= self.target
        sign = ">=" if self.higher_is_better else "<="
        target = f"{sign} {self.target:g} {self.unit}".strip()
        return f"  {self.name:<20}{value:>10}   target {target:<11} {'PASS' if passed else 'FAIL'}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answering(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"{what} exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not answer {url} within 60 s") from None
            time.sleep(0.2)


@contextmanager
def running(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Iterator[Any]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def build_app() -> None:
    if not VITE.exists() or not LIGHTHOUSE.exists():
        raise SystemExit("frontend/node_modules is missing: run `cd frontend && npm ci` first")
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not on PATH")
    print("Building the web app (npm run build)…", flush=True)
    subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True, stdout=subprocess.DEVNULL)


def lighthouse(url: str, output: Path) -> dict[str, Any]:
    env = {**os.environ, "CHROME_PATH": CHROME}
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--only-categories=performance",
            "--output=json",
            f"--output-path={output}",
            f"--chrome-flags={CHROME_FLAGS}",
            "--quiet",
        ],
        cwd=FRONTEND,
        env=env,
        check=True,
    )
    report: dict[str, Any] = json.loads(output.read_text())
    return report


def initial_javascript(dist: Path) -> tuple[list[str], int]:
    """The JS files index.html loads before any lazy page, and their gzipped total."""
    manifest: dict[str, Any] = json.loads((dist / ".vite" / "manifest.json").read_text())
    files: set[str] = set()

    def visit(key: str) -> None:
        chunk = manifest[key]
        if chunk["file"] in files:
            return
        files.add(chunk["file"])
        for imported in chunk.get("imports", []):  # static imports; dynamicImports are lazy
            visit(imported)

    visit("index.html")
    html = (dist / "index.html").read_text()
    named = set(re.findall(r'<script[^>]+src="/([^"]+\.js)"', html))
    named |= set(re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/([^"]+\.js)"', html))
    if not named <= files:
        raise SystemExit(f"index.html loads JS the manifest does not list: {sorted(named - files)}")
    total = sum(len(gzip.compress((dist / name).read_bytes(), compresslevel=6)) for name in files)
    return sorted(files), total


def figures(report: dict[str, Any], js_gzip: int) -> list[Figure]:
    audits = report["audits"]

    def audit(name: str) -> float:
        return float(audits[name]["numericValue"])

    return [
        Figure("performance score", report["categories"]["performance"]["score"], "", 0.95, True),
        Figure("LCP", audit("largest-contentful-paint") / 1000, "s", 2.0),
        Figure("CLS", audit("cumulative-layout-shift"), "", 0.02),
        Figure("TBT", audit("total-blocking-time"), "ms", 150),
        Figure("FCP", audit("first-contentful-paint") / 1000, "s", None),
        Figure("initial JS (gzip)", js_gzip / KB, "kB", 100),
    ]


def serve_and_measure(data_dir: Path, logs: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    api_port, web_port = free_port(), free_port()
    web = f"http://127.0.0.1:{web_port}"
    api_env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "STAGE"))}
    api_env.update(
        DATA_DIR=str(data_dir),
        PUBLIC_BASE_URL=f"{web}/api",
        FRONTEND_URL=web,
        AUTH_COOKIE_PATH="/api/auth",
    )
    web_env = {**os.environ, "PORT": str(api_port), "WEB_PORT": str(web_port)}
    api_command = [sys.executable, "tools/devserver.py", "--host", "127.0.0.1"]
    with (
        running(
            [*api_command, "--port", str(api_port)], cwd=ROOT, env=api_env, log=logs / "api.log"
        ) as api,
        running([str(VITE), "preview"], cwd=FRONTEND, env=web_env, log=logs / "web.log") as preview,
    ):
        wait_until_answering(f"http://127.0.0.1:{api_port}/health", api, "the API")
        wait_until_answering(f"{web}/", preview, "vite preview")
        wait_until_answering(f"{web}/api/health", preview, "vite preview's /api proxy")
        REPORTS.mkdir(exist_ok=True)
        print(f"Lighthouse on {web}/ (warm-up run: makes the image variants)…", flush=True)
        warmup = lighthouse(f"{web}/", REPORTS / "warmup.json")
        print("Lighthouse, measured run…", flush=True)
        measured = lighthouse(f"{web}/", REPORTS / "report.json")
    return warmup, measured


def main() -> int:
    build_app()
    files, js_gzip = initial_javascript(DIST)
    with tempfile.TemporaryDirectory(prefix="snapboard-lighthouse-") as tmp:
        data_dir, logs = Path(tmp) / "data", Path(tmp)
        data_dir.mkdir()
        warmup, measured = serve_and_measure(data_dir, logs)
    version = measured.get("lighthouseVersion", "?")
    print()
    print(f"Lighthouse {version}, mobile preset (the default), performance only")
    print("second of two runs; the first made the local store's image variants")
    for figure in figures(measured, js_gzip):
        print(figure.line())
    cold = figures(warmup, js_gzip)
    print(f"  (warm-up run: score {cold[0].value:.2f}, LCP {cold[1].value:.2f} s)")
    print(f"  initial JS: {', '.join(files)}")
    print(f"reports: {REPORTS.relative_to(ROOT)}/report.json, warmup.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
