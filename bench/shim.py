"""Requests per second through the EC2 shim, against bare WSGI and Flask, in one run.

    make bench                     # or: python -m bench.shim --duration 10 --connections 32

Every target runs under the same gunicorn command (ec2/gunicorn.conf.py, the
same worker count) on a loopback port, loaded by ``wrk`` for a bounded time:
rounds x targets x duration seconds (about a minute by default).
Targets: shim ``/health`` >= 0.9x bare WSGI and >= 1.1x Flask. A hello-world
Chalice app through the same shim shows the floor: what any app pays for
Chalice and the adapter before our middleware adds a byte. The feed
(``/posts?limit=20``, on the demo data set) shows the cost of a real page.

Numbers depend on the machine; only the ratios, measured side by side, mean
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
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "ec2" / "gunicorn.conf.py"


@dataclass(frozen=True)
class Target:
    label: str
    app: str
    path: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.shim", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--duration", type=int, default=3, help="seconds of load per sample")
    parser.add_argument("--rounds", type=int, default=5, help="samples per target, interleaved")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, for every target")
    args = parser.parse_args(argv)

    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "bench/shim.py needs wrk: `apt-get install -y wrk` (Debian/Ubuntu) "
            "or `brew install wrk` (macOS).",
            file=sys.stderr,
        )
        return 2

    targets = [
        Target("bare WSGI /health", "bench.baselines:bare", "/health"),
        Target("Flask /health", "bench.baselines:flask_app", "/health"),
        Target("Chalice hello via shim", "bench.baselines:chalice_via_shim", "/health"),
        Target("shim /health", "ec2.wsgi:application", "/health"),
    ]
    # The feed with the demo data set gunicorn loads at start (its on_starting hook).
    targets.append(Target("shim /posts?limit=20", "ec2.wsgi:application", "/posts?limit=20"))

    # Every server stays up for the whole run and the rounds interleave the
    # targets, so a change in the machine's load hits each of them alike; the
    # median of the rounds is what counts. Besides requests per second, the
    # workers' CPU time per request is read from /proc: on a shared machine
    # throughput swings with what else runs, CPU spent per request much less.
    samples: dict[str, list[float]] = {t.label: [] for t in targets}
    cpu: dict[str, list[float]] = {t.label: [] for t in targets}
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for target in targets:
            data = stack.enter_context(tempfile.TemporaryDirectory())
            servers[target.label] = stack.enter_context(serving(target.app, args, data))
            # Warm-up, long enough for the shim's worker to open the embedded store
            # (gunicorn's post_worker_init) before any sample.
            _load(wrk, servers[target.label].base + target.path, args, seconds=5)
        for _ in range(args.rounds):
            for target in targets:
                server = servers[target.label]
                before = server.cpu_seconds()
                rate, count = _load_counted(
                    wrk, server.base + target.path, args, seconds=args.duration
                )
                cpu[target.label].append((server.cpu_seconds() - before) / count * 1e6)
                samples[target.label].append(rate)
    rates = {label: statistics.median(values) for label, values in samples.items()}
    cost = {label: statistics.median(values) for label, values in cpu.items()}
    for target in targets:
        runs = ", ".join(f"{v:,.0f}" for v in samples[target.label])
        print(
            f"{target.label:<28} {rates[target.label]:>8,.0f} req/s  "
            f"{cost[target.label]:>7.0f} us CPU/request  (rounds: {runs})"
        )

    bare, flask, hello, shim = (t.label for t in targets[:4])
    print()
    for subject, baseline, goal in (
        (shim, bare, " (target >= 0.90x)"),
        (shim, flask, " (target >= 1.10x)"),
        (hello, bare, ""),
        (hello, flask, ""),
    ):
        print(
            f"{subject} vs {baseline}:".ljust(46)
            + f"{rates[subject] / rates[baseline]:.2f}x by req/s, "
            + f"{cost[baseline] / cost[subject]:.2f}x by CPU{goal}"
        )
    print(
        f"(gunicorn sync, {args.workers} workers; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s x {args.rounds} rounds, medians; "
        f"{os.cpu_count()} CPUs shared by server and load generator)"
    )
    return 0


@dataclass(frozen=True)
class Server:
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
def serving(app: str, args: argparse.Namespace, data_dir: str) -> Iterator[Server]:
    """One gunicorn, with the production config, on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "STAGE"))}
    env["DATA_DIR"] = data_dir
    command = [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "--bind", f"127.0.0.1:{port}"]
    # No worker recycling during a run: a restart would move CPU to a new process.
    command += ["--workers", str(args.workers), "--worker-class", "sync", "--max-requests", "0"]
    command += [app]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # The first start of an embedded store loads the demo data set first.
        deadline = time.monotonic() + 90
        while _status(base + "/health") is None:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start for {app}")
            time.sleep(0.1)
        yield Server(base, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _load(wrk: str, url: str, args: argparse.Namespace, *, seconds: int) -> float:
    rate, _ = _load_counted(wrk, url, args, seconds=seconds)
    return rate


def _load_counted(
    wrk: str, url: str, args: argparse.Namespace, *, seconds: int
) -> tuple[float, int]:
    """Requests per second and the number of requests wrk completed."""
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses", output):
        raise SystemExit(f"{url} answered errors under load:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    if match is None or count is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    return float(match.group(1)), int(count.group(1))


if __name__ == "__main__":
    sys.exit(main())
