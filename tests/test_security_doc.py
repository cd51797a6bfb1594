"""SECURITY.md names only tests and files that exist, so its "proved by" column stays true."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

DOC = (ROOT / "SECURITY.md").read_text()
# A pytest node id as the page writes it: `tests/x.py::test_y` or `tests/x.py::TestZ::test_y`.
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(?:(Test\w+)::)?(test_\w+)`")


def _defines(path: str, cls: str, name: str) -> bool:
    file = ROOT / path
    if not file.is_file():
        return False
    scope: ast.AST = ast.parse(file.read_text())
    if cls:
        classes = [n for n in ast.iter_child_nodes(scope) if isinstance(n, ast.ClassDef)]
        found = [n for n in classes if n.name == cls]
        if not found:
            return False
        scope = found[0]
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
        for node in ast.iter_child_nodes(scope)
    )


def test_every_test_security_md_names_exists() -> None:
    references = TEST_REFERENCE.findall(DOC)
    assert len(references) > 50  # the pattern still matches how the page names tests
    missing = ["::".join(filter(None, ref)) for ref in references if not _defines(*ref)]
    assert missing == []


def test_every_file_security_md_names_exists() -> None:
    paths = re.findall(r"`((?:frontend|ec2|docs|tests|chalicelib|\.chalice)/[\w./-]+)`", DOC)
    assert paths
    assert [path for path in paths if not (ROOT / path).exists()] == []
