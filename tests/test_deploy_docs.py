"""docs/deploy.md says what the tree and AWS do: the Vercel settings, the config, the commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = (ROOT / "docs" / "deploy.md").read_text()


def setting(name: str) -> str:
    [value] = re.findall(rf"^\| {re.escape(name)} \| `([^`]+)`", DOCS, re.M)
    return str(value)


def test_the_vercel_project_settings_match_frontend_vercel_json() -> None:
    vercel = json.loads((ROOT / "frontend" / "vercel.json").read_text())
    assert (ROOT / setting("Root Directory") / "vercel.json").exists()
    assert setting("Build Command") == vercel["buildCommand"]
    assert setting("Output Directory") == vercel["outputDirectory"]
    assert vercel["framework"] == "vite"
    package = json.loads((ROOT / "frontend" / "package.json").read_text())
    assert setting("Install Command").startswith("npm ci")
    assert package["engines"]["node"].startswith(">=20")


def test_the_runbook_names_only_files_that_exist() -> None:
    for path in set(
        re.findall(r"`((?:ec2|frontend|\.github/workflows|\.chalice)/[\w./-]+)`", DOCS)
    ):
        if path == ".chalice/deployed/":
            continue  # named as what `chalice deploy` would write, outside git
        assert (ROOT / path).exists(), path


def test_both_targets_set_the_refresh_cookie_on_the_path_the_vercel_rewrite_serves() -> None:
    from tests.ec2.template import env_file

    vercel = json.loads((ROOT / "frontend" / "vercel.json").read_text())
    [api] = [r["source"] for r in vercel["rewrites"] if r["destination"].startswith("$BACKEND")]
    # The browser sees /api/auth/refresh; the API's route is /auth/refresh.
    browser_path = api.removesuffix("/:path*") + "/auth"
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    lambda_env = config["stages"]["prod"]["environment_variables"]
    assert lambda_env["AUTH_COOKIE_PATH"] == browser_path
    assert env_file()["AUTH_COOKIE_PATH"] == browser_path


# `aws s3api` for the two calls of the bucket block, made with boto3 against moto's S3,
# which keeps S3's rule: us-east-1 refuses a LocationConstraint, every other region needs one.
FAKE_S3API = r"""
import sys

args = sys.argv[1:]
if args[:2] != ["s3api", "create-bucket"]:
    sys.exit(0)  # the public access block: nothing S3 could refuse here
import boto3
from moto import mock_aws

def value(flag):
    return args[args.index(flag) + 1] if flag in args else None
with mock_aws():
    s3 = boto3.client("s3", region_name=value("--region"))
    extra = {}
    if value("--create-bucket-configuration"):
        name, _, region = value("--create-bucket-configuration").partition("=")
        extra = {"CreateBucketConfiguration": {name: region}}
    s3.create_bucket(Bucket=value("--bucket"), **extra)
    print(s3.get_bucket_location(Bucket=value("--bucket"))["LocationConstraint"])
"""


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_artifact_bucket_commands_work_in_every_region(tmp_path: Path, region: str) -> None:
    section = DOCS[DOCS.index("### 1.5") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("```\n", start)]
    (tmp_path / "aws").write_text(f"#!{sys.executable}\n{FAKE_S3API}")
    (tmp_path / "aws").chmod(0o755)
    script = block.replace("REGION=eu-west-1", f"REGION={region}", 1)
    result = subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", script],
        env={
            "PATH": f"{tmp_path}:/usr/bin:/bin",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": str(tmp_path / "absent"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # S3 reports us-east-1 as no location at all.
    assert result.stdout.split() == (["None"] if region == "us-east-1" else [region])
