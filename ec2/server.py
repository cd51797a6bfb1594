"""The EC2 app server: granian's WSGI interface serving the shim (``ec2.wsgi:application``).

    python -m ec2.server --bind 127.0.0.1:8000      # what `make serve` and the systemd unit run

Chosen by measurement (``make bench``, README "Speed"): gunicorn's sync workers
close every connection, so nginx cannot keep one open to them; granian keeps
nginx's upstream connections alive, costs a tenth of gunicorn per request of its
own, and answered about twice the requests of our ``/health`` under gunicorn sync.

Flags override the environment, which tunes a host without editing a file:
``SERVER_BIND`` (``HOST:PORT``, or ``unix:PATH`` as on a host), ``WEB_CONCURRENCY``
(workers) and ``SERVER_THREADS`` (request threads per worker).

What the server must keep, and where each is held:

- Request state per thread: each request runs on one of a worker's blocking
  threads; Chalice's ``current_request`` and the Lambda context are per thread
  (``chalicelib.routing``), tested under this server (tests/ec2/test_server.py).
- The Lambda timeout: the shim's signal only reaches the main thread, and
  granian runs no request there. nginx bounds every request at the timeout
  (``proxy_read_timeout``, ec2/nginx-proxy.conf) and answers 504 problem+json
  (ec2/nginx-errors.conf);
  handlers can read the time left from the Lambda context as on Lambda.
- Bodies over Lambda's limit: the shim answers 413 from ``Content-Length``
  before reading a byte (granian streams the body to the app, it buffers none).
- Graceful restarts: SIGHUP starts new workers, then stops the old ones after
  they finish what they hold; SIGTERM does the same for the whole server.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

ROOT = Path(__file__).resolve().parents[1]
APPLICATION = "ec2.wsgi:application"
_LAMBDA_TIMEOUT = int(
    json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]["lambda_timeout"]
)
# A worker that does not finish its requests within a Lambda timeout of being told
# to stop (a restart, a recycle) is killed: nothing it holds can still be answered.
KILL_TIMEOUT_SECONDS = _LAMBDA_TIMEOUT + 5
# With MongoDB: processes, one request at a time each, twice the CPUs plus one (the
# work mostly waits on MongoDB), as gunicorn's sync workers served before. Measured
# (bench/shim.py, python -m bench.shim): on threads, sixteen feed requests share each
# worker's GIL and the feed's p99 doubles (8 threads: 237 ms against 142 ms for one),
# for no more throughput. SERVER_THREADS raises it where memory is short and requests
# wait long on a distant database.
THREADS = 1
# With the embedded store, one worker (below) serves on threads: they outnumber the
# local image store's render slots and queue (6), so a costly render never stops
# /health answering.
EMBEDDED_THREADS = 8
# Workers live six hours, then a fresh one takes over: a slow leak never becomes
# an outage. Not with the embedded store, which has one owner process at a time.
LIFETIME_SECONDS = 6 * 3600
# Connections a worker accepts at once (granian counts connections, not requests):
# well above nginx's idle keep-alive pool (16 per nginx worker), or nginx would
# queue behind its own idle connections. The threads are what limit concurrency.
BACKPRESSURE = 128
# nginx sends a request's head at once; a direct client gets this long to send it.
HEADER_READ_TIMEOUT_MS = 10_000


def _processes() -> int:
    return 2 * (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class ServerConfig:
    """How many processes and threads serve, and where: the arguments of ``Granian``."""

    bind: str
    workers: int
    threads: int
    embedded: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServerConfig:
        # The embedded stand-in (no MONGODB_URI) has one owner process at a time
        # (chalicelib/embedded.py): one worker, serving on threads.
        embedded = not environ.get("MONGODB_URI")
        return cls(
            bind=environ.get("SERVER_BIND", "127.0.0.1:8000"),
            workers=int(environ.get("WEB_CONCURRENCY", 1 if embedded else _processes())),
            threads=int(environ.get("SERVER_THREADS", EMBEDDED_THREADS if embedded else THREADS)),
            embedded=embedded,
        )

    def granian_options(self) -> dict[str, Any]:
        from granian.constants import HTTPModes, Interfaces
        from granian.http import HTTP1Settings

        if self.bind.startswith("unix:"):
            # nginx runs as its own user; the socket is as open as a loopback port.
            where: dict[str, Any] = {
                "uds": Path(self.bind.removeprefix("unix:")),
                "uds_permissions": 0o666,
            }
        else:
            host, _, port = self.bind.rpartition(":")
            where = {"address": host.strip("[]"), "port": int(port)}
        return {
            **where,
            "interface": Interfaces.WSGI,
            # nginx speaks HTTP/1.1 to its upstream; nothing here needs HTTP/2.
            "http": HTTPModes.http1,
            "http1_settings": HTTP1Settings(
                header_read_timeout=HEADER_READ_TIMEOUT_MS, keep_alive=True
            ),
            "workers": self.workers,
            "blocking_threads": self.threads,
            "backpressure": max(BACKPRESSURE, self.threads),
            "websockets": False,
            # A worker that dies (a crash, an OOM kill) is replaced, as gunicorn did.
            "respawn_failed_workers": True,
            "workers_lifetime": None if self.embedded else LIFETIME_SECONDS,
            "workers_kill_timeout": KILL_TIMEOUT_SECONDS,
            # No server access log: the app's middleware writes one JSON line per
            # request on every runtime, and nginx keeps the edge's own.
            "log_access": False,
        }


def load(target: str, *, embedded: bool) -> WSGIApplication:
    """Import ``module:name`` in a worker; with the embedded store, own it before serving.

    The worker owns the store until it exits; a second process on the same
    DATA_DIR cannot, and this worker exits with the reason instead of serving.
    """
    # A worker stops when the main process tells it (SIGTERM). A terminal's Ctrl-C
    # reaches every process of the group, and a second signal while a granian 2.8.9
    # worker shuts down deadlocks it (its handler sets an Event whose lock the same
    # thread may hold): it would wait out the kill timeout. Blocked here, before the
    # worker starts its threads, SIGINT reaches the main process only.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    module, _, name = target.partition(":")
    application: WSGIApplication = getattr(importlib.import_module(module), name)
    if embedded:
        from chalicelib import composition
        from chalicelib.settings import ConfigError

        try:
            composition.process_clients().db  # noqa: B018 (opening is the point)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            sys.exit(3)
    return application


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    defaults = ServerConfig.from_env(env)
    parser = argparse.ArgumentParser(prog="python -m ec2.server", description=__doc__)
    parser.add_argument("target", nargs="?", default=APPLICATION, help="module:wsgi_app")
    parser.add_argument("--bind", default=defaults.bind, help="HOST:PORT or unix:PATH")
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    args = parser.parse_args(argv)
    config = ServerConfig(args.bind, args.workers, args.threads, defaults.embedded)

    if config.embedded:
        # Like `make run`: the demo data set goes into an empty store, once per server
        # start, in a process of its own before any worker (the store has one owner).
        # A host with MONGODB_URI (every real deployment) loads nothing. A second
        # server on the same DATA_DIR stops here, naming the process that owns it.
        seed = subprocess.run([sys.executable, "-m", "chalicelib.manage", "seed"], cwd=ROOT)
        if seed.returncode:
            return seed.returncode

    from granian import Granian

    server = Granian(args.target, **config.granian_options())
    server.serve(target_loader=functools.partial(load, embedded=config.embedded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
