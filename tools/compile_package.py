"""Add compiled bytecode to the Lambda zip that `chalice package` wrote.

    python tools/compile_package.py build/

Lambda runs the package from a read-only ``/var/task``: without bytecode in the
zip, every cold start compiles each module it imports, and cannot keep the result.
Each ``x.py`` gets ``__pycache__/x.<cache tag>.pyc`` beside it, compiled by this
interpreter, which must be the Lambda runtime's Python (the template's ``Runtime``).

The ``.pyc`` files are unchecked-hash ones (PEP 552): Python loads them without
comparing them with the source's timestamp or hash, so they stay valid whatever
times the files get when Lambda unpacks the zip. The sources stay for tracebacks.
The rewritten zip is reproducible: same input, same bytes.

It also leaves out what ``chalice package`` bundles but nothing imports on Lambda
(``DROPPED``): every byte is unzipped at a cold start, and the zip's budget is 10 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

INVALIDATION = py_compile.PycInvalidationMode.UNCHECKED_HASH

# Top-level packages (with their .dist-info) that the zip gets as dependencies of a
# dependency but that nothing imports at run time. cffi and pycparser come with
# argon2-cffi-bindings, whose ``_ffi`` module is compiled ahead of time (cffi's
# out-of-line API mode): importing it needs only cffi's ``_cffi_backend`` extension,
# which stays; the ``cffi`` package (and pycparser, its C parser) only build such
# modules. tests/test_lambda_package.py hashes and verifies a password from the
# unpacked zip and checks that neither is loaded.
DROPPED = ("cffi", "pycparser")


def is_dropped(name: str) -> bool:
    """Whether ``name`` (a path in the zip) belongs to one of the ``DROPPED`` packages."""
    head = name.split("/", 1)[0]
    if head.endswith(".dist-info"):
        head = head.split("-", 1)[0]  # a wheel's `name-version.dist-info`
    return head in DROPPED


def runtime_cache_tag(template: Path) -> str:
    """``cpython-311`` for a template whose functions all run ``python3.11``."""
    resources = json.loads(template.read_text())["Resources"].values()
    runtimes = {
        r["Properties"]["Runtime"] for r in resources if r["Type"] == "AWS::Serverless::Function"
    }
    if len(runtimes) != 1:
        raise SystemExit(f"{template}: expected one Python runtime, found {sorted(runtimes)}")
    [runtime] = runtimes
    return "cpython-" + str(runtime).removeprefix("python").replace(".", "")


def bytecode_name(source: str, cache_tag: str) -> str:
    """Where the import system looks for the bytecode of ``source`` (a path in the zip)."""
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc")


def compile_source(name: str, source: bytes, scratch: Path) -> bytes:
    """The unchecked-hash ``.pyc`` of ``source``; ``name`` is what tracebacks show
    until the import system points them at the real file."""
    src = scratch / "module.py"
    out = scratch / "module.pyc"
    src.write_bytes(source)
    py_compile.compile(
        str(src), cfile=str(out), dfile=name, doraise=True, invalidation_mode=INVALIDATION
    )
    return out.read_bytes()


def add_bytecode(archive: Path) -> tuple[int, int]:
    """Rewrite ``archive`` with bytecode for each of its ``.py`` files and without the
    ``DROPPED`` packages; returns how many modules were compiled and files left out."""
    rewritten = archive.with_suffix(".tmp")
    compiled = dropped = 0
    with (
        tempfile.TemporaryDirectory() as scratch,
        zipfile.ZipFile(archive) as original,
        zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        cache_tag = sys.implementation.cache_tag
        for info in original.infolist():
            if "__pycache__/" in info.filename or info.filename.endswith(".pyc"):
                continue  # a developer's own bytecode (chalice copies chalicelib/ as it is)
            if is_dropped(info.filename):
                dropped += 1
                continue
            data = original.read(info)
            target.writestr(info, data)
            if not info.filename.endswith(".py"):
                continue
            pyc = bytecode_name(info.filename, cache_tag)
            entry = zipfile.ZipInfo(pyc, date_time=info.date_time)
            entry.external_attr = info.external_attr
            bytecode = compile_source(info.filename, data, Path(scratch))
            target.writestr(entry, bytecode, compress_type=zipfile.ZIP_DEFLATED)
            compiled += 1
    os.replace(rewritten, archive)
    return compiled, dropped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the directory `chalice package` wrote")
    args = parser.parse_args()
    wanted = runtime_cache_tag(args.package / "sam.json")
    if sys.implementation.cache_tag != wanted:
        raise SystemExit(
            f"the package runs {wanted}; compile it with that Python, "
            f"not {sys.implementation.cache_tag}"
        )
    # Sets' order in constants follows string hashes: fix the seed for identical bytes.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(  # noqa: S606 (the same interpreter and arguments, one variable more)
            sys.executable,
            [sys.executable, *sys.argv],
            {**os.environ, "PYTHONHASHSEED": "0"},
        )
    compiled, dropped = add_bytecode(args.package / "deployment.zip")
    magic = importlib.util.MAGIC_NUMBER.hex()
    print(f"compiled {compiled} modules for {wanted} (magic {magic}, unchecked hash)")
    print(f"left out {dropped} files of {', '.join(DROPPED)} (imported by nothing on Lambda)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
