"""The GitHub workflows: what they run, where they deploy, and how they are pinned."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
# What a runner's `run:` steps execute with (GitHub's default shell for bash).
BASH = shutil.which("bash") or "/bin/bash"
PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s+(?P<ref>\S+)(?P<comment>.*)$")


def load(name: str) -> dict[str, Any]:
    workflow: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as the boolean true.
    workflow["on"] = workflow.pop(True)
    return workflow


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load("deploy.yml")


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load("ci.yml")


def job_for(workflow: dict[str, Any], target: str) -> dict[str, Any]:
    jobs: dict[str, dict[str, Any]] = workflow["jobs"]
    [job] = [
        job
        for job in jobs.values()
        if f"needs.target.outputs.target == '{target}'" in str(job.get("if", ""))
    ]
    return job


def script(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


@pytest.mark.parametrize("target", ["lambda", "ec2"])
def test_each_target_has_its_own_job_gated_by_the_production_environment(
    deploy: dict[str, Any], target: str
) -> None:
    job = job_for(deploy, target)
    assert job["environment"]["name"] == "production"
    assert job["needs"] == "target"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    [credentials] = [
        step
        for step in job["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"])


def test_the_lambda_path_deploys_the_package_smoke_tests_ready_and_rolls_back(
    deploy: dict[str, Any],
) -> None:
    job = job_for(deploy, "lambda")
    commands = script(job)
    assert "make package" in commands
    assert "aws cloudformation deploy --template-file build/packaged.json" in commands
    assert '"${URL%/}/ready"' in commands
    [rollback] = [
        step
        for step in job["steps"]
        if "--template-file build/previous.json" in step.get("run", "")
    ]
    assert rollback["if"].startswith("failure()")
    assert "aws cloudformation deploy --template-file build/previous.json" in rollback["run"]


def test_the_ec2_path_runs_the_ec2_deploy_script(deploy: dict[str, Any]) -> None:
    run = script(job_for(deploy, "ec2"))
    assert "python -m ec2.deploy --bucket" in run
    assert '--tag "snapboard:stack=$EC2_STACK_NAME"' in run


def test_a_manual_run_offers_both_targets_and_the_repository_default(
    deploy: dict[str, Any],
) -> None:
    target = deploy["on"]["workflow_dispatch"]["inputs"]["target"]
    assert target["type"] == "choice"
    assert target["options"] == ["default", "lambda", "ec2"]
    assert target["default"] == "default"
    assert "workflow_call" in deploy["on"]


def pick_target(
    deploy: dict[str, Any], tmp_path: Path, *, requested: str, default: str, manual: bool
) -> tuple[int, str]:
    """Run the workflow's own target-picking step with bash, as the runner would."""
    [step] = deploy["jobs"]["target"]["steps"]
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_OUTPUT": str(output),
        "REQUESTED": requested,
        "DEPLOY_TARGET": default,
        "MANUAL": "true" if manual else "false",
    }
    result = subprocess.run(
        [BASH, "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, output.read_text().strip()


@pytest.mark.parametrize(
    ("requested", "default", "manual", "expected"),
    [
        ("", "lambda", False, "target=lambda"),
        ("", "ec2", False, "target=ec2"),
        ("default", "ec2", True, "target=ec2"),
        ("lambda", "ec2", True, "target=lambda"),
        ("ec2", "lambda", True, "target=ec2"),
        ("", "", False, "target=none"),
    ],
)
def test_the_target_is_the_input_else_the_repository_variable(
    deploy: dict[str, Any],
    tmp_path: Path,
    requested: str,
    default: str,
    manual: bool,
    expected: str,
) -> None:
    assert pick_target(deploy, tmp_path, requested=requested, default=default, manual=manual) == (
        0,
        expected,
    )


@pytest.mark.parametrize(
    ("requested", "default", "manual"),
    [("default", "", True), ("", "kubernetes", False), ("lambda ", "", True)],
)
def test_an_unknown_or_missing_target_fails_the_run(
    deploy: dict[str, Any], tmp_path: Path, requested: str, default: str, manual: bool
) -> None:
    code, output = pick_target(
        deploy, tmp_path, requested=requested, default=default, manual=manual
    )
    assert code != 0
    assert output == ""


def test_no_job_deploys_without_a_target(deploy: dict[str, Any]) -> None:
    targets = {name: job for name, job in deploy["jobs"].items() if "environment" in job}
    assert set(targets) == {"lambda", "ec2"}


def test_ci_tests_every_push_and_pull_request_and_deploys_main_after_the_tests(
    ci: dict[str, Any],
) -> None:
    assert set(ci["on"]) == {"push", "pull_request"}
    test = ci["jobs"]["test"]
    runs = [step["run"] for step in test["steps"] if "run" in step]
    assert runs[-1] == "make test"  # which builds and checks the Lambda package too
    [chromium] = runs[:-1]
    assert chromium.startswith("test -x /usr/bin/chromium || ")
    [python] = [s for s in test["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["python-version"] == "3.11"
    assert python["with"]["cache"] == "pip"
    [node] = [s for s in test["steps"] if s.get("uses", "").startswith("actions/setup-node@")]
    assert node["with"]["node-version"] == "20"
    assert node["with"]["cache"] == "npm"
    assert "frontend/package-lock.json" in node["with"]["cache-dependency-path"].split()
    deploy_job = ci["jobs"]["deploy"]
    assert deploy_job["needs"] == "test"
    assert deploy_job["uses"] == "./.github/workflows/deploy.yml"
    assert deploy_job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert ci["concurrency"]["cancel-in-progress"] == "${{ github.ref != 'refs/heads/main' }}"


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_workflows_grant_read_only_by_default(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        granted = job.get("permissions", {})
        assert {scope for scope, level in granted.items() if level == "write"} <= {"id-token"}


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda path: path.name)
def test_every_action_is_pinned_by_full_commit_sha_with_its_version(path: Path) -> None:
    seen = 0
    for line in path.read_text().splitlines():
        match = PINNED_USES.match(line)
        if match is None or match["ref"].startswith("./"):
            continue
        seen += 1
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", match["ref"]), line
        assert re.fullmatch(r"\s+# v\d+(\.\d+)*", match["comment"]), line
    assert seen > 0


# Each action's release in use, as read from the action's own repository: the tag's
# commit, whose action.yml says `runs: using: node24` (GitHub removes Node 20 from
# its runners in 2026). Moving to another release means checking that again.
NODE24_RELEASES = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/setup-node": ("820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"),
    "aws-actions/configure-aws-credentials": ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"),
}


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda path: path.name)
def test_every_action_is_a_release_that_runs_on_node_24(path: Path) -> None:
    for line in path.read_text().splitlines():
        match = PINNED_USES.match(line)
        if match is None or match["ref"].startswith("./"):
            continue
        action, _, sha = match["ref"].partition("@")
        assert (sha, match["comment"].strip().removeprefix("# ")) == NODE24_RELEASES[action], line
