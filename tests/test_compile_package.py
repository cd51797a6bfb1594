"""tools/compile_package.py: what it leaves out of the Lambda zip (its bytecode is checked
on the artifact itself, by tests/test_lambda_package.py)."""

from __future__ import annotations

import pytest

from tools.compile_package import is_dropped


@pytest.mark.parametrize(
    "name",
    [
        "cffi/__init__.py",
        "cffi/__pycache__/api.cpython-311.pyc",
        "cffi-2.1.1.dist-info/RECORD",
        "pycparser/c_parser.py",
        "pycparser-3.12.dist-info/METADATA",
    ],
)
def test_cffi_and_pycparser_and_their_metadata_are_left_out(name: str) -> None:
    assert is_dropped(name)


@pytest.mark.parametrize(
    "name",
    [
        # What argon2-cffi-bindings' compiled module imports: it stays.
        "_cffi_backend.cpython-311-x86_64-linux-gnu.so",
        "_argon2_cffi_bindings/_ffi.abi3.so",
        "argon2_cffi-25.1.0.dist-info/METADATA",
        "argon2/__init__.py",
        "chalicelib/images/formats.py",
        "cffi_like.py",
    ],
)
def test_everything_else_stays(name: str) -> None:
    assert not is_dropped(name)
