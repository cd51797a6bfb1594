"""The web app's API types are generated from the document the API serves, and kept in step."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tools import api_types


def test_the_committed_types_match_the_served_openapi_document() -> None:
    expected = api_types.generate(api_types.served_document())
    assert api_types.TYPES.read_text() == expected, (
        "frontend/src/lib/api-types.ts is stale: run `make api-types` and commit it"
    )


def test_a_change_to_the_document_changes_the_types() -> None:
    # The check above could pass vacuously if generation ignored its input.
    document: dict[str, Any] = copy.deepcopy(api_types.served_document())
    document["components"]["schemas"]["PostPublic"]["properties"]["mood"] = {"type": "string"}
    assert api_types.generate(document) != api_types.TYPES.read_text()


def test_check_mode_reports_a_stale_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stale = tmp_path / "api-types.ts"
    stale.write_text("export interface paths {}\n")
    monkeypatch.setattr(api_types, "TYPES", stale)
    monkeypatch.setattr(api_types, "ROOT", tmp_path)
    assert api_types.main(["--check"]) == 1
    assert stale.read_text() == "export interface paths {}\n"
