"""ec2/deploy.py's orchestration against moto's S3, SSM and EC2."""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ec2 import deploy
from tests.conftest import ROOT

BUCKET = "snapboard-artifacts"
TAG = "snapboard:stack=snapboard"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        clients = {
            name: boto3.client(name, region_name="eu-west-1")
            for name in ("s3", "ssm", "ec2", "elbv2")
        }
        clients["s3"].create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield clients


# One of moto's default AMIs. Listing Amazon's images to pick one serialised
# thousands of them per launch: most of this module's run time.
IMAGE = "ami-12c6146b"


def launch(ec2: Any, tags: dict[str, str]) -> str:
    reservation = ec2.run_instances(
        ImageId=IMAGE,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            }
        ],
    )
    return str(reservation["Instances"][0]["InstanceId"])


RELEASE = "20250101T000000Z-abc1234"
KEY = f"releases/{RELEASE}.tar.gz"


def run(aws: dict[str, Any], **fleet: Any) -> int:
    return deploy.deploy(
        deploy.Fleet(
            s3=aws["s3"],
            ssm=aws["ssm"],
            ec2=aws["ec2"],
            elbv2=aws["elbv2"],
            bucket=BUCKET,
            tag=TAG,
            poll_s=0,
            sleep=lambda seconds: None,
            **fleet,
        ),
        keep=4,
        release=RELEASE,
    )


def test_the_artifact_holds_what_a_host_runs_and_nothing_else() -> None:
    with tarfile.open(fileobj=io.BytesIO(deploy.build_artifact())) as tar:
        names = set(tar.getnames())
    for needed in (
        "app.py",
        "chalicelib/routing.py",
        "ec2/wsgi.py",
        "ec2/shim.py",
        "ec2/release.sh",
    ):
        assert needed in names
    assert {".chalice/config.json", "requirements-ec2.txt", "requirements-ec2.lock"} <= names
    assert not [n for n in names if n.startswith(("tests", ".venv", "frontend", "bench"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "requirements-dev.txt" not in names


def test_a_release_is_uploaded_run_on_the_tagged_hosts_and_marked_current(
    aws: dict[str, Any],
) -> None:
    web_a = launch(aws["ec2"], {"snapboard:stack": "snapboard"})
    web_b = launch(aws["ec2"], {"snapboard:stack": "snapboard"})
    launch(aws["ec2"], {"snapboard:stack": "someone-else"})
    stopped = launch(aws["ec2"], {"snapboard:stack": "snapboard"})
    aws["ec2"].stop_instances(InstanceIds=[stopped])

    aws["ssm"] = Recorder(aws["ssm"])

    assert run(aws) == 0

    key = "releases/20250101T000000Z-abc1234.tar.gz"
    uploaded = aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(uploaded)) as tar:
        assert "ec2/release.sh" in tar.getnames()
    current = aws["s3"].get_object(Bucket=BUCKET, Key=deploy.CURRENT_KEY)["Body"].read()
    assert current.decode() == key

    # moto's list_commands adds every instance it knows, so read what was sent.
    sent = aws["ssm"].sent
    assert {s["DocumentName"] for s in sent} == {"AWS-RunShellScript"}
    assert sorted(i for s in sent for i in s["InstanceIds"]) == sorted([web_a, web_b])
    for one in sent:
        script = "\n".join(one["Parameters"]["commands"])
        assert f"s3://{BUCKET}/{key}" in script
        assert "RELEASE=20250101T000000Z-abc1234" in script
        assert "KEEP=4" in script


def test_the_first_host_alone_creates_the_indexes_before_the_others_release(
    aws: dict[str, Any],
) -> None:
    for _ in range(3):
        launch(aws["ec2"], {"snapboard:stack": "snapboard"})
    aws["ssm"] = Recorder(aws["ssm"])

    assert run(aws) == 0

    scripts = ["\n".join(s["Parameters"]["commands"]) for s in aws["ssm"].sent]
    assert len(aws["ssm"].sent[0]["InstanceIds"]) == 1
    assert "INDEXES=1" in scripts[0]
    assert not [script for script in scripts[1:] if "INDEXES=1" in script]


class Recorder:
    """moto's SSM client, keeping the arguments of each send_command."""

    def __init__(self, ssm: Any) -> None:
        self._ssm = ssm
        self.sent: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ssm, name)

    def send_command(self, **kwargs: Any) -> Any:
        self.sent.append(kwargs)
        return self._ssm.send_command(**kwargs)


class FailingHost(Recorder):
    """moto's SSM, except that one host reports the release script failing."""

    def __init__(self, ssm: Any, failing: str) -> None:
        super().__init__(ssm)
        self._failing = failing

    def get_command_invocation(self, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._ssm.get_command_invocation(**kwargs)
        if kwargs["InstanceId"] == self._failing:
            answer = {**answer, "Status": "Failed", "StandardErrorContent": "not ready"}
        return answer


def test_a_failed_host_fails_the_deploy_and_the_release_is_not_marked_current(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    launch(aws["ec2"], {"snapboard:stack": "snapboard"})
    broken = launch(aws["ec2"], {"snapboard:stack": "snapboard"})
    aws["ssm"] = FailingHost(aws["ssm"], broken)

    assert run(aws) == 1

    assert f"{broken}: Failed" in capsys.readouterr().out
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert deploy.CURRENT_KEY not in [item["Key"] for item in listed]


def test_no_tagged_host_is_an_error_before_anything_is_uploaded(aws: dict[str, Any]) -> None:
    assert run(aws) == 1
    assert aws["s3"].list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_the_remote_commands_run_the_release_script_from_the_artifact(tmp_path: Path) -> None:
    # Replace the download with a copy, then run the commands as the host would.
    artifact = tmp_path / "artifact.tar.gz"
    artifact.write_bytes(deploy.build_artifact())
    commands = deploy.remote_commands(bucket=BUCKET, key="k", release="r1", keep=2)
    assert commands[1].startswith("aws s3 cp")
    script = "\n".join([commands[0], *commands[2:]]).replace(
        shlex.quote("/tmp/snapboard-r1.tar.gz"),  # noqa: S108 (the path the host uses)
        shlex.quote(str(artifact)),
    )
    result = subprocess.run(
        ["/bin/bash", "-c", script],
        env={
            "PATH": "/usr/bin:/bin",
            "SNAPBOARD_ROOT": str(tmp_path / "srv"),
            "INSTALL_CMD": "true",
            "RESTART_CMD": "true",
            "HEALTH_CMD": "test -f app.py || test -f $SNAPBOARD_ROOT/current/app.py",
        },
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "srv" / "current" / "ec2" / "wsgi.py").exists()
    assert not artifact.exists(), "the downloaded artifact is removed"


def test_release_ids_sort_by_time_and_name_the_commit() -> None:
    import datetime as dt

    early = deploy.release_id(ROOT, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    late = deploy.release_id(ROOT, dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
    assert early < late
    assert early.startswith("20250101T000000Z-")


def test_the_artifact_is_readable_by_everyone_whatever_the_checkouts_modes(
    tmp_path: Path,
) -> None:
    for name in deploy.ARTIFACT_PATHS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, tmp_path / name)
    for path in tmp_path.rglob("*"):
        path.chmod(0o700 if path.is_dir() or path.name.endswith(".sh") else 0o600)
    with tarfile.open(fileobj=io.BytesIO(deploy.build_artifact(tmp_path))) as tar:
        modes = {info.name: info.mode for info in tar.getmembers()}
    assert modes["ec2/release.sh"] == 0o755
    assert modes["chalicelib"] == 0o755
    assert modes["app.py"] == 0o644


def test_the_deploy_roles_documented_policy_allows_exactly_what_the_deploy_calls() -> None:
    import json
    import re

    policy = json.loads((ROOT / "ec2" / "deploy-policy.json").read_text())
    allowed: dict[str, list[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            resources = statement["Resource"]
            allowed.setdefault(action, []).extend(
                [resources] if isinstance(resources, str) else resources
            )
    source = (ROOT / "ec2" / "deploy.py").read_text()
    called = set(re.findall(r"\b(?:s3|ssm|ec2|elbv2)\.(\w+)\(", source))
    called |= set(re.findall(r'get_paginator\("(\w+)"\)', source))
    called |= set(re.findall(r'get_waiter\("(\w+)"\)', source))
    called -= {"get_paginator", "get_waiter"}
    names = {
        "put_object": "s3:PutObject",
        "get_object": "s3:GetObject",
        "describe_instances": "ec2:DescribeInstances",
        "send_command": "ssm:SendCommand",
        "get_command_invocation": "ssm:GetCommandInvocation",
        "deregister_targets": "elasticloadbalancing:DeregisterTargets",
        "register_targets": "elasticloadbalancing:RegisterTargets",
        # Both waiters poll DescribeTargetHealth.
        "target_deregistered": "elasticloadbalancing:DescribeTargetHealth",
        "target_in_service": "elasticloadbalancing:DescribeTargetHealth",
    }
    assert called == set(names)
    # The workflow reads the stack's outputs first; without s3:ListBucket a missing
    # releases/CURRENT (before the first deploy) answers AccessDenied, not NoSuchKey.
    assert set(allowed) == {*names.values(), "cloudformation:DescribeStacks", "s3:ListBucket"}
    # SendCommand is authorised on the document as well as on every instance.
    assert "arn:aws:ssm:REGION::document/AWS-RunShellScript" in allowed["ssm:SendCommand"]
    assert "arn:aws:ec2:REGION:ACCOUNT:instance/*" in allowed["ssm:SendCommand"]


# ------------------------------------------------------------ behind the load balancer


def target_group(aws: dict[str, Any], instances: list[str]) -> str:
    vpc = aws["ec2"].describe_vpcs()["Vpcs"][0]["VpcId"]
    [group] = aws["elbv2"].create_target_group(
        Name="snapboard-api", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance"
    )["TargetGroups"]
    arn = str(group["TargetGroupArn"])
    aws["elbv2"].register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in instances])
    return arn


def registered(aws: dict[str, Any], arn: str) -> set[str]:
    health = aws["elbv2"].describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"] for d in health if d["TargetHealth"]["State"] == "healthy"}


class Timeline(Recorder):
    """moto's SSM; each send_command notes which hosts the ALB was serving from then,
    what was current, and runs `during` (a scaling event) once."""

    def __init__(self, ssm: Any, aws: dict[str, Any], arn: str | None, failing: str = "") -> None:
        super().__init__(ssm)
        self._aws, self._arn, self._failing = aws, arn, failing
        self.serving: list[set[str]] = []
        self.current: list[str | None] = []
        self.command_ids: list[str] = []
        self.during: Any = None

    def send_command(self, **kwargs: Any) -> Any:
        if self._arn is not None:
            self.serving.append(registered(self._aws, self._arn))
        try:
            body = self._aws["s3"].get_object(Bucket=BUCKET, Key=deploy.CURRENT_KEY)["Body"]
            self.current.append(body.read().decode())
        except self._aws["s3"].exceptions.NoSuchKey:
            self.current.append(None)
        if self.during is not None:
            self.during, during = None, self.during
            during()
        answer = super().send_command(**kwargs)
        self.command_ids.append(answer["Command"]["CommandId"])
        return answer

    def get_command_invocation(self, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._ssm.get_command_invocation(**kwargs)
        if kwargs["InstanceId"] == self._failing and self.sent[-1]["InstanceIds"] == [
            self._failing
        ]:
            answer = {**answer, "Status": "Failed", "StandardErrorContent": "not ready"}
        return answer

    def scripts(self) -> list[tuple[str, str]]:
        """(instance, shell) of every command sent, in order."""
        return [
            (one["InstanceIds"][0], "\n".join(one["Parameters"]["commands"])) for one in self.sent
        ]


def fleet_of(aws: dict[str, Any], count: int) -> list[str]:
    return sorted(launch(aws["ec2"], {"snapboard:stack": "snapboard"}) for _ in range(count))


def test_behind_the_alb_each_host_is_released_alone_while_out_of_the_target_group(
    aws: dict[str, Any],
) -> None:
    hosts = fleet_of(aws, 3)
    arn = target_group(aws, hosts)
    aws["ssm"] = timeline = Timeline(aws["ssm"], aws, arn)

    assert run(aws, target_group=arn) == 0

    assert [host for host, _ in timeline.scripts()] == hosts
    for (host, _), serving in zip(timeline.scripts(), timeline.serving, strict=True):
        # The host restarting gets no traffic; every other host keeps serving.
        assert serving == set(hosts) - {host}
    assert registered(aws, arn) == set(hosts)


def test_a_failed_host_puts_every_host_back_on_the_current_release(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    hosts = fleet_of(aws, 3)
    arn = target_group(aws, hosts)
    old = "releases/20241231T000000Z-old0000.tar.gz"
    aws["s3"].put_object(Bucket=BUCKET, Key=deploy.CURRENT_KEY, Body=old.encode())
    aws["ssm"] = timeline = Timeline(aws["ssm"], aws, arn, failing=hosts[1])

    assert run(aws, target_group=arn) == 1

    sent = timeline.scripts()
    # The first host took the release; the second failed (and rolled itself back); the
    # first is switched back; the third never changed.
    assert [host for host, _ in sent] == [hosts[0], hosts[1], hosts[0]]
    assert "RELEASE=20250101T000000Z-abc1234" in sent[1][1]
    rollback = sent[2][1]
    assert "RELEASE=20241231T000000Z-old0000" in rollback
    assert "REUSE=1" in rollback
    assert f"s3://{BUCKET}/{old}" in rollback
    # ... with the new release's script, which knows REUSE.
    assert f"s3://{BUCKET}/{KEY}" in rollback
    current = aws["s3"].get_object(Bucket=BUCKET, Key=deploy.CURRENT_KEY)["Body"].read()
    assert current.decode() == old
    assert registered(aws, arn) == set(hosts)
    assert f"{hosts[0]} back on 20241231T000000Z-old0000" in capsys.readouterr().err


def test_an_instance_started_during_the_rollout_gets_the_release_once_it_is_current(
    aws: dict[str, Any],
) -> None:
    hosts = fleet_of(aws, 2)
    aws["ssm"] = timeline = Timeline(aws["ssm"], aws, None)
    started: list[str] = []
    # It boots while the first host is released, with the release current until then.
    timeline.during = lambda: started.append(launch(aws["ec2"], {"snapboard:stack": "snapboard"}))

    assert run(aws) == 0

    [late] = started
    sent = timeline.scripts()
    assert [host for host, _ in sent] == [*hosts, late]
    assert "REUSE=1" in sent[-1][1]
    assert timeline.current[-1] == KEY, "sent after the release was marked current"


def test_ssm_sends_every_commands_whole_output_to_the_log_group_and_a_failure_says_where(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    [host] = fleet_of(aws, 1)
    aws["ssm"] = timeline = Timeline(aws["ssm"], aws, None, failing=host)

    assert run(aws, log_group="/snapboard/snapboard-ec2/releases") == 1

    [sent] = timeline.sent
    assert sent["CloudWatchOutputConfig"] == {
        "CloudWatchLogGroupName": "/snapboard/snapboard-ec2/releases",
        "CloudWatchOutputEnabled": True,
    }
    err = capsys.readouterr().err
    assert "not ready" in err
    [command] = timeline.command_ids
    assert (
        "aws logs tail /snapboard/snapboard-ec2/releases --since 1d "
        f"--log-stream-name-prefix {command}/{host}/"
    ) in err
