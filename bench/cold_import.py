"""Cold-import time of the packaged Lambda app, against a bare interpreter.

Builds ``chalice package --stage prod`` (or reads ``build/`` with ``--reuse``),
unzips it to a temporary directory and starts fresh interpreters there with
nothing but the zip's contents on the path (``-I -S``), the way Lambda's
``/var/task`` is. ``-B`` keeps bytecode from being written between runs:
``/var/task`` is read-only, so every Lambda cold start compiles what it imports.

    .venv/bin/python bench/cold_import.py [--runs 15] [--reuse]

Prints the zip size and, for ``import app`` and a bare ``pass``, the median and
best wall time of one interpreter start, plus their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(out: Path) -> Path:
    chalice = Path(sys.executable).with_name("chalice")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    subprocess.run(
        [str(chalice), "package", "--stage", "prod", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out / "deployment.zip"


def time_interpreter(code: str, cwd: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", code],
            cwd=cwd,
            env={"PATH": "/usr/bin:/bin"},
            check=True,
        )
        samples.append(time.perf_counter() - started)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="time build/deployment.zip as is")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        archive = ROOT / "build" / "deployment.zip" if args.reuse else build(scratch_dir / "out")
        size_mb = archive.stat().st_size / 1e6
        task = scratch_dir / "task"
        with zipfile.ZipFile(archive) as package:
            package.extractall(task)
        bare = time_interpreter("pass", task, args.runs)
        app = time_interpreter("import sys; sys.path.insert(0, '.'); import app", task, args.runs)
    print(f"zip: {size_mb:.2f} MB")
    for label, samples in (("bare python", bare), ("import app", app)):
        print(
            f"{label:12} median {statistics.median(samples) * 1000:7.1f} ms"
            f"  best {min(samples) * 1000:7.1f} ms  ({args.runs} runs)"
        )
    ratio = statistics.median(app) / statistics.median(bare)
    extra = (statistics.median(app) - statistics.median(bare)) * 1000
    print(f"import app / bare python: {ratio:.1f}x (+{extra:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
