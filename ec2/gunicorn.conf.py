"""gunicorn settings for the EC2 runtime.

    gunicorn -c ec2/gunicorn.conf.py ec2.wsgi:application

Command-line flags override these (``make serve`` passes ``--bind``). The
environment tunes them on a host without editing the file:
``GUNICORN_BIND``, ``WEB_CONCURRENCY`` (workers), ``GUNICORN_WORKER_CLASS``
and ``GUNICORN_THREADS``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
_CHALICE_CONFIG = _ROOT / ".chalice" / "config.json"
# The shim interrupts a request at the Lambda timeout; gunicorn kills a worker
# that stays silent a little longer (a hang in C code no signal can break).
_LAMBDA_TIMEOUT = int(json.loads(_CHALICE_CONFIG.read_text())["stages"]["prod"]["lambda_timeout"])

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: one request per process, so the shim's timeout signal reaches
# the request, and a slow request cannot starve others sharing its process.
# The request work is mostly waiting on MongoDB, so twice the cores plus one.
# The embedded stand-in (no MONGODB_URI) has one owner process at a time
# (chalicelib/embedded.py), so it gets one worker that serves on threads: one
# slow client or one costly render must not stop it answering (/health). The
# threads outnumber the local store's render slots and queue (6) with room to
# spare. Threads take no timeout signal: gunicorn's `timeout` bounds a request.
_EMBEDDED = not os.environ.get("MONGODB_URI")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if _EMBEDDED else "sync")
_default_workers = 1 if _EMBEDDED else multiprocessing.cpu_count() * 2 + 1
workers = int(os.environ.get("WEB_CONCURRENCY", _default_workers))
threads = int(os.environ.get("GUNICORN_THREADS", "8" if _EMBEDDED else "1"))

timeout = _LAMBDA_TIMEOUT + 5
# On SIGTERM (systemctl stop/restart) in-flight requests get a full Lambda timeout to finish.
graceful_timeout = _LAMBDA_TIMEOUT + 5
keepalive = 5
# Recycle workers now and then, so a slow leak never becomes an outage.
max_requests = 10_000
max_requests_jitter = 1_000
# Request-line and header limits well above what browsers send, far below abuse.
limit_request_line = 8190
limit_request_fields = 100
# nginx on the same host sets X-Forwarded-Proto; believe nobody else.
forwarded_allow_ips = "127.0.0.1,::1"
# Heartbeat files in memory: a slow or read-only disk must not look like a hung worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# No gunicorn access log: the app's middleware already writes one JSON line per
# request on every runtime (method, route template, status, duration, request id),
# and nginx keeps the edge's own. A second line per request cost about 120 us of
# CPU, a quarter of a /health request (measured with a profiler in the worker).
accesslog = None
errorlog = "-"
loglevel = "info"
proc_name = "snapboard"


def on_starting(server: Any) -> None:
    """With the embedded stand-in, load the demo data set into an empty store, as ``make run`` does.

    It runs once per server start, in a process of its own, before any worker:
    the store has one owner at a time, and the worker timeout cannot cut the load
    short. It prints the demo accounts' password. A host with ``MONGODB_URI``
    (every real deployment) loads nothing.
    """
    if os.environ.get("MONGODB_URI"):
        return
    seed = subprocess.run([sys.executable, "-m", "chalicelib.manage", "seed"], cwd=_ROOT)
    if seed.returncode:
        sys.exit(seed.returncode)


def post_worker_init(worker: Any) -> None:
    """With the embedded stand-in, open the store before the first request.

    The worker owns the store from now until it exits; a second worker (or
    another server on the same DATA_DIR) cannot, and stops the server with the reason.
    """
    if os.environ.get("MONGODB_URI"):
        return
    from chalicelib import composition
    from chalicelib.settings import ConfigError

    try:
        composition.process_clients().db  # noqa: B018 (opening is the point)
    except ConfigError as exc:
        worker.log.error(str(exc))
        sys.exit(3)  # gunicorn's "worker failed to boot": the arbiter stops
