"""`make run` / `make dev`: the whole system on loopback.

The API: open the embedded database (kept under DATA_DIR, owned by this process
while it runs), load the demo data set into it when it is empty, then `chalice
local` in the same process (it imports app.py, which serves the process clients
opened below).

The web app (`--web preview`, the default): the built frontend/dist served by
`vite preview` on WEB_PORT, with `/api/*` proxied to the API exactly as Vercel's
rewrite sends it (frontend/vite.config.ts). `--web dev` serves the sources with
Vite's hot reload instead; `--web none` serves the API alone.

The browser talks to the web origin only, as on Vercel: the API's links and
image URLs point there (`PUBLIC_BASE_URL=<web>/api`), the refresh cookie lives
on `/api/auth`, and mails link to the web app's pages (`FRONTEND_URL`).
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"


def web_environment(*, host: str, api_port: int, web_port: int) -> dict[str, str]:
    """What the API needs to know about the web origin in front of it (unless set already)."""
    web = f"http://{host}:{web_port}"
    return {
        "PUBLIC_BASE_URL": f"{web}/api",
        "FRONTEND_URL": web,
        "AUTH_COOKIE_PATH": "/api/auth",
        "CORS_ORIGINS": f"{web},http://localhost:{web_port}",
    }


def start_web(*, mode: str, api_port: int, web_port: int) -> subprocess.Popen[bytes]:
    vite = FRONTEND / "node_modules" / ".bin" / "vite"
    if not vite.exists():
        raise SystemExit("frontend/node_modules is missing: run `make web-install` (npm ci)")
    command = [str(vite)] if mode == "dev" else [str(vite), "preview"]
    env = {**os.environ, "PORT": str(api_port), "WEB_PORT": str(web_port)}
    process = subprocess.Popen(command, cwd=FRONTEND, env=env)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()

    atexit.register(stop)
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--web-port", type=int, default=int(os.environ.get("WEB_PORT", "5173")))
    parser.add_argument("--web", choices=["preview", "dev", "none"], default="preview")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    # SIGTERM (a test harness, systemd) ends the process through atexit like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.web != "none":
        for name, value in web_environment(
            host=args.host, api_port=args.port, web_port=args.web_port
        ).items():
            os.environ.setdefault(name, value)
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")

    from chalicelib import composition, demo
    from chalicelib.errors import ConfigError

    try:
        clients = composition.process_clients()
        if clients.settings.uses_embedded_mongo:
            print(
                f"The embedded database keeps its data in {clients.settings.data_dir}/ "
                "(make reset starts clean)",
                flush=True,
            )
            seeded = composition.load_demo(clients)
            if seeded is not None:
                print(
                    f"  demo data loaded: {seeded.users} people, {seeded.posts} posts, "
                    f"{seeded.images} images",
                    flush=True,
                )
            print(f"  {demo.sign_in_hint()}", flush=True)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.web != "none":
        start_web(mode=args.web, api_port=args.port, web_port=args.web_port)
        print(
            f"\n  Web app  http://{args.host}:{args.web_port}/   (/api/* → the API)"
            f"\n  API      http://{args.host}:{args.port}/   (docs: /docs)\n",
            flush=True,
        )
    from chalice.cli import main as chalice

    sys.argv = [
        "chalice",
        "local",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--stage",
        "dev",
        "--no-autoreload",
    ]
    return int(chalice() or 0)


if __name__ == "__main__":
    sys.exit(main())
