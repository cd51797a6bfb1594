"""deploy.yml's steps run with bash, as the runner would, against a stand-in `aws`.

The stand-in records every call and keeps the one rule of the real CLI that these
steps depend on: `aws cloudformation deploy` refuses a template over 51,200 bytes
unless it goes through S3 (`--s3-bucket`; awscli's DeployBucketRequiredError).
The packaged template is about 400 KB.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.test_workflows import BASH, job_for, load

TEMPLATE_BYTES = 400_000
FAKE_AWS = r"""#!/usr/bin/env python3
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["AWS_CALLS"], "a") as calls:
    calls.write(json.dumps(args) + "\n")
def value(flag):
    return args[args.index(flag) + 1] if flag in args else None
if args[:2] == ["cloudformation", "package"]:
    shutil.copy(value("--template-file"), value("--output-template-file"))
elif args[:2] == ["cloudformation", "deploy"]:
    if os.path.getsize(value("--template-file")) > 51200 and value("--s3-bucket") is None:
        sys.exit("Templates with a size greater than 51,200 bytes must be deployed via an "
                 "S3 Bucket. Please add the --s3-bucket parameter to your command.")
elif args[:2] == ["cloudformation", "describe-stacks"]:
    print("https://abc.execute-api.eu-west-1.amazonaws.com/api/")
elif args[:2] == ["cloudformation", "describe-stack-resource"]:
    print("snapboard-prod-" + value("--logical-resource-id") + "-AbC123")
elif args[:2] == ["lambda", "invoke"]:
    failed = os.environ.get("FUNCTION_FAILS") == "1"
    with open(args[-1], "w") as out:
        out.write('{"errorMessage": "ServerSelectionTimeoutError"}' if failed else '{"users": []}')
    print(json.dumps({"StatusCode": 200, **({"FunctionError": "Unhandled"} if failed else {})}))
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    build = tmp_path / "build"
    build.mkdir()
    big = {"Description": "x" * TEMPLATE_BYTES, "Resources": {}}
    (build / "sam.json").write_text(json.dumps(big))
    (build / "previous.json").write_text(json.dumps(big))
    return tmp_path


def step(name: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = job_for(load("deploy.yml"), "lambda")["steps"]
    [found] = [s for s in steps if s.get("name") == name]
    return found


def run_step(
    workspace: Path, name: str, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    calls = workspace / "calls.jsonl"
    calls.write_text("")
    env = {
        "PATH": f"{workspace / 'bin'}:/usr/bin:/bin",
        "AWS_CALLS": str(calls),
        "GITHUB_OUTPUT": str(workspace / "github_output"),
        "GITHUB_SHA": "abc1234",
        "STACK_NAME": "snapboard-prod",
        "ARTIFACT_BUCKET": "123456789012-snapboard-artifacts",
        **(extra_env or {}),
    }
    result = subprocess.run(
        [BASH, "--noprofile", "--norc", "-eo", "pipefail", "-c", step(name)["run"]],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result, [json.loads(line) for line in calls.read_text().splitlines()]


def deploys(calls: list[list[str]]) -> list[list[str]]:
    return [call for call in calls if call[:2] == ["cloudformation", "deploy"]]


def test_the_deploy_sends_the_400_kb_template_through_the_artifact_bucket(
    workspace: Path,
) -> None:
    result, calls = run_step(workspace, "Deploy the CloudFormation stack")
    assert result.returncode == 0, result.stderr
    [deploy] = deploys(calls)
    assert shlex.join(deploy).count("--s3-bucket 123456789012-snapboard-artifacts") == 1
    assert "url=https://abc.execute-api" in (workspace / "github_output").read_text()


def test_the_rollback_sends_the_previous_template_through_the_artifact_bucket(
    workspace: Path,
) -> None:
    result, calls = run_step(workspace, "Roll back to the previous template")
    assert "::error::Deploy of abc1234 failed" in result.stdout
    [deploy] = deploys(calls)
    assert "build/previous.json" in deploy
    assert "--s3-bucket" in deploy


@pytest.mark.parametrize(("fails", "code"), [(False, 0), (True, 1)])
def test_the_indexes_are_created_by_the_stacks_function_inside_aws(
    workspace: Path, fails: bool, code: int
) -> None:
    result, calls = run_step(
        workspace,
        "Create the MongoDB indexes (the stack's ensure_indexes function)",
        {"FUNCTION_FAILS": "1" if fails else "0"},
    )
    assert result.returncode == code, result.stderr
    [invoke] = [call for call in calls if call[:2] == ["lambda", "invoke"]]
    assert invoke[invoke.index("--function-name") + 1] == "snapboard-prod-EnsureIndexes-AbC123"


@pytest.mark.parametrize("target", ["lambda", "ec2"])
def test_no_deploy_job_reaches_the_database_from_the_runner(target: str) -> None:
    job = job_for(load("deploy.yml"), target)
    assert not [s for s in job["steps"] if "make indexes" in s.get("run", "")]


ROLE = "arn:aws:iam::123456789012:role/snapboard-cloudformation"


@pytest.mark.parametrize(
    "name", ["Deploy the CloudFormation stack", "Roll back to the previous template"]
)
@pytest.mark.parametrize(("role", "expected"), [(ROLE, ["--role-arn", ROLE]), ("", [])])
def test_stack_changes_run_as_the_cloudformation_service_role_when_one_is_set(
    workspace: Path, name: str, role: str, expected: list[str]
) -> None:
    result, calls = run_step(workspace, name, {"CLOUDFORMATION_ROLE_ARN": role})
    [deploy] = deploys(calls)
    given = deploy[deploy.index("--role-arn") :][:2] if "--role-arn" in deploy else []
    assert given == expected, result.stderr


def test_the_service_role_comes_from_a_repository_variable() -> None:
    job = job_for(load("deploy.yml"), "lambda")
    assert job["env"]["CLOUDFORMATION_ROLE_ARN"] == "${{ vars.CLOUDFORMATION_ROLE_ARN }}"


# `aws cloudformation describe-stacks --query Q --output text` for the EC2 step: the
# query evaluated with jmespath (what the CLI uses) on a stack's outputs.
FAKE_AWS_EC2 = r"""
import json, os, sys
import jmespath
args = sys.argv[1:]
assert args[:2] == ["cloudformation", "describe-stacks"], args
outputs = json.loads(os.environ["STACK_OUTPUTS"])
stacks = {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]}
found = jmespath.search(args[args.index("--query") + 1], stacks)
print("" if found is None else found)
"""


@pytest.mark.parametrize("alb", [True, False], ids=["alb", "single-instance"])
def test_the_ec2_step_passes_the_stacks_outputs_to_the_deploy_script(
    tmp_path: Path, alb: bool
) -> None:
    import sys

    outputs = {
        "ArtifactBucketName": "snapboard-ec2-artifactbucket-abc",
        "DeployLogGroupName": "/snapboard/snapboard-ec2/releases",
        **(
            {"TargetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1"}
            if alb
            else {}
        ),
    }
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "aws").write_text(f"#!{sys.executable}\n{FAKE_AWS_EC2}")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/deploy-args\n'
    )
    for path in (tmp_path / "bin" / "aws", tmp_path / ".venv" / "bin" / "python"):
        path.chmod(0o755)
    steps: list[dict[str, Any]] = job_for(load("deploy.yml"), "ec2")["steps"]
    [rollout] = [s for s in steps if "ec2.deploy" in s.get("run", "")]
    result = subprocess.run(
        [BASH, "--noprofile", "--norc", "-eo", "pipefail", "-c", rollout["run"]],
        cwd=tmp_path,
        env={
            "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
            "EC2_STACK_NAME": "snapboard-ec2",
            "STACK_OUTPUTS": json.dumps(outputs),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "deploy-args").read_text().splitlines()
    assert args == [
        "-m",
        "ec2.deploy",
        "--bucket",
        "snapboard-ec2-artifactbucket-abc",
        "--tag",
        "snapboard:stack=snapboard-ec2",
        "--target-group",
        outputs.get("TargetGroupArn", ""),
        "--log-group",
        "/snapboard/snapboard-ec2/releases",
    ]
