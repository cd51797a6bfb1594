"""SECURITY.md names only tests and files that exist, so its "proved by" column stays true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

DOC = (ROOT / "SECURITY.md").read_text()


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_every_test_security_md_names_exists() -> None:
    references = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", DOC)
    assert len(references) > 50  # the pattern still matches how the page names tests
    missing = [
        f"{path}::{name}"
        for path, name in references
        if not (ROOT / path).is_file() or name not in _test_functions(ROOT / path)
    ]
    assert missing == []


def test_every_file_security_md_names_exists() -> None:
    paths = re.findall(r"`((?:frontend|ec2|docs|tests|chalicelib|\.chalice)/[\w./-]+)`", DOC)
    assert paths
    assert [path for path in paths if not (ROOT / path).exists()] == []
