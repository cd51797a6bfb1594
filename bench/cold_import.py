"""Cold start of the packaged Lambda app, against a bare interpreter in the same run.

Builds the package as ``make package`` does (``chalice package --stage prod`` plus
``tools/compile_package.py``), or reads ``build/`` with ``--reuse``, unzips it to a
temporary directory made read-only, and starts fresh interpreters there with nothing
but the zip's contents on the path (``-I -S``, and ``-B``: nothing is written), the
way Lambda's ``/var/task`` is. Each round starts one interpreter of each kind, in turn:

- ``bare python``: to the first line of code;
- ``import app``: to ``app`` imported;
- ``first /health``: to the handler's answer to an API Gateway event for ``/health``;
- ``first GET /posts``: to the answer to ``GET /posts`` as the first request, which
  reads the settings, builds the MongoDB client and queries a local MongoDB stand-in
  (tests/mongowire.py, over pymongo's real network path).

Times run from just before the process is started to the moment the child reads
the monotonic clock (shared by every process), so interpreter teardown is left out.

    .venv/bin/python -m bench.cold_import [--runs 15] [--reuse]

Prints the zip size, each median and best, and each median against bare python's.
Targets (#14): ``import app`` <= 100 ms, ``first /health`` <= 150 ms, zip <= 10 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tests.mongowire import ScriptedMongo

ROOT = Path(__file__).resolve().parents[1]

# What prod's settings demand; nothing here reaches a real service.
PROD_ENV = {
    "STAGE": "prod",
    "JWT_SECRET": "bench-" + "k" * 48,
    "IMAGE_STORE": "imagekit",
    "IMAGEKIT_PRIVATE_KEY": "private_bench",
    "IMAGEKIT_PUBLIC_KEY": "public_bench",
    "IMAGEKIT_URL_ENDPOINT": "https://ik.imagekit.io/bench",
    "MAIL_BACKEND": "ses",
    "MAIL_FROM": "no-reply@example.com",
    "CORS_ORIGINS": "https://example.com",
    "FRONTEND_URL": "https://example.com",
    "AWS_DEFAULT_REGION": "us-east-1",
}

# The child: the clock after its work, on stdout. An API Gateway REST proxy event.
HANDLER_PRELUDE = """
def event(path):
    return {
        "resource": path, "path": path,
        "httpMethod": "GET", "headers": {"Host": "api.example.com"},
        "multiValueHeaders": {"Host": ["api.example.com"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None, "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": path, "httpMethod": "GET", "path": "/api" + path,
            "stage": "api", "requestId": "bench", "apiId": "bench",
            "identity": {"sourceIp": "203.0.113.9"},
        },
    }
class LambdaContext:
    aws_request_id = "bench"
    function_name = "snapboard-prod"
    def get_remaining_time_in_millis(self):
        return 30_000
"""
PROBES = {
    "bare python": "import time; print(time.perf_counter())",
    "import app": "import sys, time; sys.path.insert(0, '.'); import app\n"
    + "print(time.perf_counter())",
    "first /health": HANDLER_PRELUDE
    + "import sys, time; sys.path.insert(0, '.'); import app\n"
    + "answer = app.app(event('/health'), LambdaContext())\n"
    + "assert answer['statusCode'] == 200, answer\n"
    + "print(time.perf_counter())",
    "first GET /posts": HANDLER_PRELUDE
    + "import sys, time; sys.path.insert(0, '.'); import app\n"
    + "answer = app.app(event('/posts'), LambdaContext())\n"
    + "assert answer['statusCode'] == 200, answer\n"
    + "print(time.perf_counter())",
}
TARGETS_MS = {"import app": 100.0, "first /health": 150.0}
TARGET_ZIP_MB = 10.0


def build(out: Path) -> Path:
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = Path(sys.executable).with_name("chalice")
    quiet = {"cwd": ROOT, "env": env, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([str(chalice), "package", "--stage", "prod", str(out)], **quiet)  # type: ignore[call-overload]
    subprocess.run([sys.executable, "tools/compile_package.py", str(out)], **quiet)  # type: ignore[call-overload]
    return out / "deployment.zip"


def read_only(root: Path) -> None:
    for path in [*root.rglob("*"), root]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def once(code: str, cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout.strip().splitlines()[-1]) - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="time build/deployment.zip as is")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {label: [] for label in PROBES}
    mongo = ScriptedMongo().start()
    try:
        env = {"PATH": "/usr/bin:/bin", **PROD_ENV, "MONGODB_URI": mongo.uri}
        with tempfile.TemporaryDirectory() as scratch:
            scratch_dir = Path(scratch)
            archive = (
                ROOT / "build" / "deployment.zip" if args.reuse else build(scratch_dir / "out")
            )
            size_mb = archive.stat().st_size / 1e6
            task = scratch_dir / "task"
            with zipfile.ZipFile(archive) as package:
                package.extractall(task)
            read_only(task)
            try:
                for _ in range(args.runs):
                    for label, code in PROBES.items():
                        samples[label].append(once(code, task, env))
            finally:
                for path in [task, *task.rglob("*")]:
                    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    finally:
        mongo.stop()

    verdict = "met" if size_mb <= TARGET_ZIP_MB else "missed"
    print(f"zip: {size_mb:.2f} MB  target <= {TARGET_ZIP_MB:.0f} MB: {verdict}")
    bare = statistics.median(samples["bare python"])
    for label, times in samples.items():
        median = statistics.median(times)
        target = TARGETS_MS.get(label)
        verdict = ""
        if target is not None:
            verdict = (
                f"  target <= {target:.0f} ms: {'met' if median * 1000 <= target else 'missed'}"
            )
        print(
            f"{label:17} median {median * 1000:7.1f} ms  best {min(times) * 1000:7.1f} ms"
            f"  {median / bare:5.1f}x bare{verdict}"
        )
    print(f"({args.runs} rounds, one fresh interpreter of each kind per round)")
    print(
        json.dumps({label: round(statistics.median(t) * 1000, 1) for label, t in samples.items()})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
