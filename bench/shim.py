"""App servers side by side: requests per second, latency and CPU of the same apps, one run.

    make bench                     # or: python -m bench.shim --duration 10 --rounds 5

Three servers, each with the same number of workers, serve the same five apps
on loopback ports, loaded by ``wrk`` with an ``Origin`` header for a bounded
time (rounds x servers x apps x 2 modes x duration: about five minutes by default):

- servers: gunicorn's sync workers (what EC2 ran before), gunicorn's gthread
  workers, and granian's WSGI interface with the production settings
  (``python -m ec2.server``; over TCP here, where a host binds a Unix socket);
- apps: bare WSGI (the server's floor), Flask doing the same per-request work
  as our middleware (request id, one JSON access line, CORS for an allowed
  origin, the security headers: the like-for-like peer), a Chalice hello through
  the shim, and our app through the shim: ``/health`` and ``/posts?limit=20``
  on the demo data set (bench/inmemory.py: a store per worker process);
- modes: keep-alive (what nginx gives the app server in production: HTTP/1.1
  and ``keepalive`` in its upstream) and a connection per request.

It prints req/s, p50/p99 latency and the workers' CPU per request for every
pair, then the ratios the targets name (issue 15), against gunicorn sync in the
same run. Numbers depend on the machine; only ratios measured side by side mean
anything. Nothing here is a test: timing never decides whether CI passes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "http://localhost:5173"  # allowed by the default CORS_ORIGINS: the CORS work is done


@dataclass(frozen=True)
class App:
    label: str
    target: str
    path: str


@dataclass(frozen=True)
class ServerKind:
    label: str

    def command(self, target: str, port: int, workers: int) -> list[str]:
        bind = f"127.0.0.1:{port}"
        if self.label == "granian":
            return [
                sys.executable,
                "-m",
                "ec2.server",
                target,
                "--bind",
                bind,
                f"--workers={workers}",
            ]
        # What ec2/gunicorn.conf.py set before granian: no access log, 5 s keep-alive;
        # no worker recycling during a run (a restart would move CPU to a new process).
        command = [sys.executable, "-m", "gunicorn", "--bind", bind, f"--workers={workers}"]
        command += ["--keep-alive", "5", "--max-requests", "0", "--worker-tmp-dir", "/dev/shm"]  # noqa: S108
        if self.label == "gunicorn gthread":
            command += ["--worker-class", "gthread", "--threads", "8"]
        return [*command, target]


SERVERS = [ServerKind("gunicorn sync"), ServerKind("gunicorn gthread"), ServerKind("granian")]
TODAY, CHOSEN = "gunicorn sync", "granian"
APPS = [
    App("bare WSGI hello", "bench.baselines:bare", "/health"),
    App("Flask, same work as /health", "bench.baselines:flask_same_work", "/health"),
    App("Chalice hello via shim", "bench.baselines:chalice_via_shim", "/health"),
    App("our /health", "bench.inmemory:application", "/health"),
    App("our /posts?limit=20", "bench.inmemory:application", "/posts?limit=20"),
]
MODES = ("keep-alive", "close")


@dataclass
class Sample:
    rate: float
    p50_ms: float
    p99_ms: float
    cpu_us: float


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.shim", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--duration", type=int, default=3, help="seconds of load per sample")
    parser.add_argument("--rounds", type=int, default=3, help="samples per pair, interleaved")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="workers, for every server")
    args = parser.parse_args(argv)

    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "bench/shim.py needs wrk: `apt-get install -y wrk` (Debian/Ubuntu) "
            "or `brew install wrk` (macOS).",
            file=sys.stderr,
        )
        return 2

    # Every server stays up for the whole run and the rounds interleave the pairs,
    # so a change in the machine's load hits each of them alike; the median of the
    # rounds is what counts. CPU time per request is read from /proc: on a shared
    # machine throughput swings with what else runs, CPU per request much less.
    pairs = [(server, app, mode) for app in APPS for server in SERVERS for mode in MODES]
    samples: dict[tuple[str, str, str], list[Sample]] = {
        (s.label, a.label, m): [] for s, a, m in pairs
    }
    with ExitStack() as stack:
        running: dict[tuple[str, str], Running] = {}
        for app in APPS:
            for server in SERVERS:
                key = (server.label, app.target)
                if key not in running:
                    running[key] = stack.enter_context(serving(server, app.target, args))
        for server, app, _ in pairs[:: len(MODES)]:
            # Warm-up: imports done, caches filled, in every worker.
            _wrk(wrk, running[server.label, app.target].base + app.path, args, 2, "keep-alive")
        for _ in range(args.rounds):
            for server, app, mode in pairs:
                where = running[server.label, app.target]
                before = where.cpu_seconds()
                sample = _wrk(wrk, where.base + app.path, args, args.duration, mode)
                per_request = (where.cpu_seconds() - before) / sample.count * 1e6
                samples[server.label, app.label, mode].append(
                    Sample(sample.rate, sample.p50_ms, sample.p99_ms, per_request)
                )

    median = {
        key: Sample(
            *(statistics.median(getattr(s, f.name) for s in values) for f in fields(Sample))
        )
        for key, values in samples.items()
    }
    for mode in MODES:
        print(
            f"\n{mode}: req/s | p50 / p99 ms | workers' CPU us/request"
            + ("  (what nginx gives the app server in production)" if mode == "keep-alive" else "")
        )
        print(f"{'app':<28}" + "".join(f"{s.label:>34}" for s in SERVERS))
        for app in APPS:
            cells = []
            for server in SERVERS:
                m = median[server.label, app.label, mode]
                cells.append(
                    f"{m.rate:>9,.0f} | {m.p50_ms:5.2f} / {m.p99_ms:6.2f} | {m.cpu_us:5.0f}"
                )
            print(f"{app.label:<28}" + "".join(f"{c:>34}" for c in cells))

    health, flask, feed = "our /health", "Flask, same work as /health", "our /posts?limit=20"

    def rate(server: str, app: str) -> float:
        # Production: nginx keeps its upstream connections; gunicorn sync closes every one anyway.
        return median[server, app, "keep-alive"].rate

    def p99_of(server: str, app: str) -> float:
        return median[server, app, "keep-alive"].p99_ms

    print(f"\ntargets (issue 15), keep-alive, against {TODAY} in this run:")
    for line, value, goal in (
        (f"{health}, {CHOSEN} vs {TODAY}", rate(CHOSEN, health) / rate(TODAY, health), 2.5),
        (f"{health} vs {flask}, {CHOSEN}", rate(CHOSEN, health) / rate(CHOSEN, flask), 1.3),
        (f"{feed}, {CHOSEN} vs {TODAY}", rate(CHOSEN, feed) / rate(TODAY, feed), 1.0),
    ):
        print(f"  {line:<62} {value:5.2f}x  (target >= {goal:.1f}x: {_verdict(value >= goal)})")
    for label in (health, feed):
        ours, today = p99_of(CHOSEN, label), p99_of(TODAY, label)
        print(
            f"  {'p99 of ' + label + f', {CHOSEN} vs {TODAY}':<62} {ours:5.2f} vs {today:.2f} ms"
            f"  (target: no worse: {_verdict(ours <= today)})"
        )
    print(f"\n{health} vs {flask}, each server (like for like):")
    for server in SERVERS:
        print(f"  {server.label:<20} {rate(server.label, health) / rate(server.label, flask):.2f}x")
    print(
        f"\n({args.workers} workers per server; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s -H 'Origin: {ORIGIN}' x {args.rounds} interleaved rounds, medians; "
        f"'close' adds -H 'Connection: close'; {os.cpu_count()} CPUs shared by servers and wrk)"
    )
    return 0


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


@dataclass(frozen=True)
class Running:
    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's worker processes so far (Linux /proc)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        total = 0
        for child in children:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(server: ServerKind, target: str, args: argparse.Namespace) -> Iterator[Running]:
    """One server for one app on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "STAGE"))}
    # A MongoDB address, never dialled (bench/inmemory.py brings its own store): no
    # embedded store to own, so ec2/server.py runs the workers asked for.
    env["MONGODB_URI"] = "mongodb://127.0.0.1:9"
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        server.command(target, port, args.workers),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while _status(base + "/health") is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{server.label} did not start for {target}")
            time.sleep(0.1)
        yield Running(base, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Load:
    rate: float
    count: int
    p50_ms: float
    p99_ms: float


def _wrk(wrk: str, url: str, args: argparse.Namespace, seconds: int, mode: str) -> Load:
    """Requests per second, requests completed, p50 and p99 latency in ms."""
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    command += ["-H", f"Origin: {ORIGIN}"]
    if mode == "close":
        command += ["-H", "Connection: close"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses", output):
        raise SystemExit(f"{url} answered errors under load:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    # wrk pads some lines with a trailing space ("99%    1.05s ").
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))\s*$", output, re.M))
    if rate is None or count is None or set(latency) != {"50", "99"}:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    return Load(
        float(rate.group(1)),
        int(count.group(1)),
        _milliseconds(latency["50"]),
        _milliseconds(latency["99"]),
    )


def _milliseconds(text: str) -> float:
    unit = text.lstrip("0123456789.")
    return float(text.removesuffix(unit)) * _UNITS_MS[unit]


if __name__ == "__main__":
    sys.exit(main())
