"""`chalice package --stage prod`: what ships to Lambda, checked on the artifact itself.

`make package` builds build/ once and runs these tests on it
(``--lambda-package build``), in CI and before each deploy; a plain pytest run
skips them rather than build a second package of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

MAX_ZIP_BYTES = 10_000_000
# Top-level names in the zip that would mean a test or dev tool was bundled, or
# an SDK that the Lambda runtime already provides.
FORBIDDEN = {
    "pytest",
    "_pytest",
    "pluggy",
    "mongomock",
    "moto",
    "responses",
    "ruff",
    "mypy",
    "openapi_spec_validator",
    "cfnlint",
    "check_jsonschema",
    "zizmor",
    "boto3",
    "botocore",
    "s3transfer",
    "tests",
}
# chalice's runtime is two modules; its CLI, deployer and packager stay out.
CHALICE_RUNTIME = {"chalice/__init__.py", "chalice/app.py"}


@pytest.fixture(scope="session")
def package(pytestconfig: pytest.Config) -> Path:
    """The directory `chalice package` wrote (make package passes build/)."""
    given: str | None = pytestconfig.getoption("lambda_package")
    if given is None:
        pytest.skip("`make package` builds the Lambda package once and runs these tests on it")
    out = Path(given).resolve()
    assert (out / "deployment.zip").is_file(), f"{out} holds no `chalice package` output"
    return out


def names(package: Path) -> list[str]:
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        return archive.namelist()


def top_level(name: str) -> str:
    head = name.split("/", 1)[0]
    return head.split("-", 1)[0].lower() if head.endswith(".dist-info") else head.lower()


def test_the_zip_is_under_10_mb(package: Path) -> None:
    assert (package / "deployment.zip").stat().st_size < MAX_ZIP_BYTES


def test_the_zip_holds_the_app_and_its_runtime_dependencies(package: Path) -> None:
    tops = {top_level(name) for name in names(package)}
    assert {"app.py", "chalicelib", "pydantic", "pydantic_core", "pymongo", "bson"} <= tops


def test_the_zip_holds_no_test_or_dev_package(package: Path) -> None:
    tops = {top_level(name).replace("_", "-") for name in names(package)}
    assert not {name.replace("_", "-") for name in FORBIDDEN} & tops
    chalice = {name for name in names(package) if name.startswith("chalice/")}
    assert chalice == CHALICE_RUNTIME


def test_the_template_runs_python_311_under_the_prod_policy_file(package: Path) -> None:
    template: dict[str, Any] = json.loads((package / "sam.json").read_text())
    resources = template["Resources"]
    functions = [r for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert functions
    assert {f["Properties"]["Runtime"] for f in functions} == {"python3.11"}
    policy = json.loads((ROOT / ".chalice" / "policy-prod.json").read_text())
    # One role per function (a scheduled function gets its own), each on the same file.
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == len(functions)
    for role in roles:
        assert [p["PolicyDocument"] for p in role["Properties"]["Policies"]] == [policy]
    assert "EndpointURL" in template["Outputs"]


def test_the_packaged_app_imports_from_the_zip_alone(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(tmp_path)
    probe = (
        "import sys; sys.path.insert(0, '.'); import app; "
        "print(sorted(m for m in ('boto3', 'pymongo', 'mongomock', 'pytest') if m in sys.modules))"
    )
    # -I -S: no site-packages, no user site, no PYTHON* variables: only the zip's contents.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", probe],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "STAGE": "prod"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_the_index_function_is_packaged_with_time_to_build_indexes(package: Path) -> None:
    template: dict[str, Any] = json.loads((package / "sam.json").read_text())
    function = template["Resources"]["EnsureIndexes"]
    assert function["Type"] == "AWS::Serverless::Function"
    assert function["Properties"]["Timeout"] == 120
