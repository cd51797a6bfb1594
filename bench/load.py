"""`make load`: a bounded mixed load on `make serve`, on loopback, and what it did to the server.

    make load                        # 60 s; LOAD_SECONDS=20 make load for a shorter run
    LOAD_USERS=10 LOAD_USER_RPS=2 make load   # the defaults: 10 clients, 2 requests/s each

Starts `make serve` (granian + the EC2 shim, exactly as that target runs it) on
a free 127.0.0.1 port with a fresh temporary DATA_DIR, so the embedded store
starts with the demo data set; runs bench/locustfile.py headless (70% feed pages,
20% post reads, 10% writes: logins and posts with an image) for a warm-up and
then for LOAD_SECONDS; prints throughput, p50/p95/p99, errors by status and the
server's resident memory (granian's main process + workers, from /proc) before and after
the measured run; then stops the server.

The memory "before" is taken after the warm-up (LOAD_WARMUP_SECONDS, 10 s by
default), once the first requests have imported what they import lazily
(pymongo, Pillow, argon2); the figure right after start-up is printed as well.
Exits 1 when any request failed or memory grew by 10% or more: the targets.
The numbers depend on the machine (the load generator shares its CPUs).
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
MAX_RSS_GROWTH = 0.10


@dataclass(frozen=True)
class Figures:
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    per_name: list[dict[str, str]]
    errors: Counter[str]


def main() -> int:
    seconds = int(os.environ.get("LOAD_SECONDS", "60"))
    warmup = int(os.environ.get("LOAD_WARMUP_SECONDS", "10"))
    users = int(os.environ.get("LOAD_USERS", "10"))
    user_rps = float(os.environ.get("LOAD_USER_RPS", "2"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="snapboard-load-") as tmp:
        serve = ["make", "--no-print-directory", "serve", f"PORT={port}"]
        env = {**os.environ, "DATA_DIR": str(Path(tmp) / "data"), "PYTHONUNBUFFERED": "1"}
        env.pop("MONGODB_URI", None)  # the embedded store, as `make serve` runs on a fresh clone
        log = (Path(tmp) / "server.log").open("wb")
        # Its own process group, so that stopping it stops the server and its workers.
        server = subprocess.Popen(
            serve, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_until_serving(f"{base}/health", server, Path(tmp) / "server.log")
            cold = _rss_kib(server.pid)
            locust_env = {
                **os.environ,
                "LOAD_USER_RPS": str(user_rps),
                "LOAD_SESSIONS": json.dumps(_sign_in(base)),
                "PYTHONPATH": str(ROOT),
            }
            if warmup:
                _locust(base, users, warmup, Path(tmp) / "warmup", locust_env)
            before = _rss_kib(server.pid)
            command = _locust(base, users, seconds, Path(tmp) / "load", locust_env)
            after = _rss_kib(server.pid)
            figures = _read(Path(tmp) / "load")
        finally:
            _stop(server)
            log.close()
    growth = (after - before) / before
    _print(serve, command, users, user_rps, seconds, warmup, figures, cold, before, after, growth)
    return 0 if figures.failures == 0 and growth < MAX_RSS_GROWTH else 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"make serve exited ({server.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"make serve did not answer {url} within 120 s:\n{log.read_text()}")


def _sign_in(base: str) -> dict[str, str]:
    """An access token for each demo person, so that no user starts with a login."""
    from chalicelib.demo import DEMO_PASSWORD, PEOPLE

    tokens = {}
    for number, (username, *_) in enumerate(PEOPLE, start=1):
        email = f"{username}@demo.snapboard.test"
        request = urllib.request.Request(
            f"{base}/auth/login",
            data=json.dumps({"email": email, "password": DEMO_PASSWORD}).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"10.255.0.{number}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            tokens[email] = json.loads(response.read())["access_token"]
    return tokens


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found += [int(child) for child in children]
            pending += [int(child) for child in children]
    return found


def _rss_kib(make_pid: int) -> int:
    """Resident memory of the server's main process and workers under `make serve`, in KiB."""
    total = 0
    for pid in _descendants(make_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue  # a process that ended meanwhile
        if b"ec2.server" not in command:
            continue  # make's shell, the seeding step
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _locust(base: str, users: int, seconds: int, prefix: Path, env: dict[str, str]) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base,
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    # Exit status 1 only says some request failed: the figures tell which.
    with Path(f"{prefix}.log").open("wb") as log:
        subprocess.run(command, cwd=ROOT, env=env, check=False, stdout=log, stderr=log)
    return command


def _read(prefix: Path) -> Figures:
    with Path(f"{prefix}_stats.csv").open() as stats:
        rows = list(csv.DictReader(stats))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    errors: Counter[str] = Counter()
    with Path(f"{prefix}_failures.csv").open() as failures:
        for row in csv.DictReader(failures):
            error = row["Error"]
            kind = error if error.startswith("HTTP ") else f"no answer: {error[:60]}"
            errors[kind] += int(row["Occurrences"])
    return Figures(
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        rps=float(total["Requests/s"]),
        p50=float(total["50%"]),
        p95=float(total["95%"]),
        p99=float(total["99%"]),
        per_name=[row for row in rows if row["Name"] != "Aggregated"],
        errors=errors,
    )


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _print(
    serve: list[str],
    command: list[str],
    users: int,
    user_rps: float,
    seconds: int,
    warmup: int,
    figures: Figures,
    cold: int,
    before: int,
    after: int,
    growth: float,
) -> None:
    shown = [Path(part).name if part == sys.executable else part for part in command]
    print(f"server:  {shlex.join(serve)}  (DATA_DIR: a fresh temporary folder)")
    print(f"load:    {shlex.join(shown)}")
    pace = f"{users} users x {user_rps:g} req/s target"
    print(f"         {pace}, {warmup} s warm-up, {seconds} s measured")
    print()
    print(f"{'request':<20} {'count':>7} {'fail':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for row in sorted(figures.per_name, key=lambda r: -int(r["Request Count"])):
        print(
            f"{row['Name']:<20} {int(row['Request Count']):>7} {int(row['Failure Count']):>5} "
            f"{row['50%']:>7} {row['95%']:>7} {row['99%']:>7}"
        )
    print()
    print(f"throughput: {figures.rps:,.1f} req/s ({figures.requests} requests in {seconds} s)")
    print(f"latency:    p50 {figures.p50:g} ms, p95 {figures.p95:g} ms, p99 {figures.p99:g} ms")
    listed = ", ".join(f"{kind}: {count}" for kind, count in figures.errors.most_common())
    print(f"errors:     {figures.failures}" + (f" ({listed})" if listed else ""))
    print(
        f"server RSS: {before / 1024:,.1f} MiB before, {after / 1024:,.1f} MiB after "
        f"({growth:+.1%}; target < {MAX_RSS_GROWTH:.0%}); {cold / 1024:,.1f} MiB right after start"
    )


if __name__ == "__main__":
    raise SystemExit(main())
