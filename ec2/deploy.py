"""Deploy a release to the EC2 hosts, one host at a time.

    python -m ec2.deploy --bucket BUCKET --tag snapboard:stack=snapboard \
        [--target-group ARN] [--log-group NAME] [--keep 5]

1. Build the artifact: app.py, chalicelib/, ec2/, .chalice/config.json and the
   requirements (the host installs ``requirements-ec2.lock``, every version
   pinned and hashed, into the release's own virtualenv).
2. Upload it to ``s3://BUCKET/releases/<release>.tar.gz``.
3. Run ``ec2/release.sh`` through SSM ``AWS-RunShellScript`` on each running
   instance with the tag, one after the other, the first one also creating the
   MongoDB indexes (from inside AWS, where Atlas lets the hosts in). Behind the
   ALB (``--target-group``) a host is deregistered, drained, released and
   registered again, and the next one waits until it is back in service. On a
   host, release.sh unpacks into a new release directory, switches the
   ``current`` symlink, restarts, waits for ``/ready`` and rolls back on failure.
4. If a host fails, the hosts already on the new release are switched back to
   the current one (``releases/CURRENT``), one at a time as well: every host
   ends on the same release. Otherwise the release is marked current, which new
   instances install at first boot, and instances that booted during the
   rollout (with the release that was current then) are given it too.

Every command's full output goes to CloudWatch Logs (``--log-group``, the
stack's DeployLogGroupName output); a failure prints where to read it. Exits
non-zero when any host failed. AWS credentials and region come from the usual
boto3 places.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import shlex
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# What a host needs to run the app; tests, the frontend and tooling stay home.
ARTIFACT_PATHS = (
    "app.py",
    "chalicelib",
    "ec2",
    ".chalice/config.json",
    "requirements.txt",
    "requirements-ec2.txt",
    "requirements-ec2.lock",
)
CURRENT_KEY = "releases/CURRENT"
_FINAL = {"Success", "Cancelled", "TimedOut", "Failed"}


@dataclass(frozen=True)
class HostResult:
    instance_id: str
    status: str
    output: str
    command_id: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "Success"


@dataclass(frozen=True)
class Fleet:
    """The AWS side of a rollout: clients, and where the stack keeps things."""

    s3: Any
    ssm: Any
    ec2: Any
    bucket: str
    tag: str
    elbv2: Any = None
    target_group: str | None = None
    log_group: str | None = None
    poll_s: float = 5
    sleep: Callable[[float], None] = time.sleep


def release_id(root: Path = ROOT, now: dt.datetime | None = None) -> str:
    """``20250101T120000Z-abc1234``: sorts by time, names the commit."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=7", "HEAD"],  # noqa: S607 (git from PATH)
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "nogit"
    return f"{stamp}-{commit}"


def build_artifact(root: Path = ROOT) -> bytes:
    """A gzipped tarball of ARTIFACT_PATHS, without caches."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ARTIFACT_PATHS:
            tar.add(root / name, arcname=name, filter=_without_caches)
    return buffer.getvalue()


def _without_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = Path(info.name).parts
    if "__pycache__" in parts or info.name.endswith(".pyc"):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    # Whatever the checkout's modes: hosts run it as a user that owns none of it.
    info.mode = 0o755 if info.isdir() or info.mode & 0o100 else 0o644
    return info


def target_instances(ec2: Any, tag: str) -> list[str]:
    """Running instances carrying ``key=value``."""
    key, _, value = tag.partition("=")
    paginator = ec2.get_paginator("describe_instances")
    filters = [
        {"Name": f"tag:{key}", "Values": [value]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    return sorted(
        instance["InstanceId"]
        for page in paginator.paginate(Filters=filters)
        for reservation in page["Reservations"]
        for instance in reservation["Instances"]
    )


def remote_commands(
    *,
    bucket: str,
    key: str,
    release: str,
    keep: int,
    indexes: bool = False,
    reuse: bool = False,
    script_key: str | None = None,
) -> list[str]:
    """The shell run on each host: fetch the artifact, run its own release script.

    ``indexes``: the host also creates the MongoDB indexes before switching (one host
    per rollout does; the hosts reach Atlas, the machine running this may not).
    ``reuse``: switch to the release as it is if the host already has it unpacked.
    ``script_key``: take release.sh from that artifact instead (a rollback to an older
    release runs the newer script, which knows REUSE).
    """
    artifact = f"/tmp/snapboard-{release}.tar.gz"  # noqa: S108 (root-owned, unique per release)
    variables = [("RELEASE", release), ("ARTIFACT", artifact), ("KEEP", str(keep))]
    if indexes:
        variables.append(("INDEXES", "1"))
    if reuse:
        variables.append(("REUSE", "1"))
    env = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables)
    source = shlex.quote(f"s3://{bucket}/{key}")
    commands = [
        "set -euo pipefail",
        f"aws s3 cp --only-show-errors {source} {shlex.quote(artifact)}",
    ]
    script = artifact
    if script_key is not None and script_key != key:
        script = f"/tmp/snapboard-script-{release}.tar.gz"  # noqa: S108 (as above)
        script_source = shlex.quote(f"s3://{bucket}/{script_key}")
        commands.append(f"aws s3 cp --only-show-errors {script_source} {shlex.quote(script)}")
    commands += [
        f"tar -xzOf {shlex.quote(script)} ec2/release.sh | {env} bash -s",
        f"rm -f {' '.join(sorted({shlex.quote(artifact), shlex.quote(script)}))}",
    ]
    return commands


def run_on_hosts(
    ssm: Any,
    instance_ids: Sequence[str],
    commands: list[str],
    *,
    comment: str,
    log_group: str | None = None,
    timeout_s: float = 900,
    poll_s: float = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> list[HostResult]:
    """Send the commands with AWS-RunShellScript and wait for every host's outcome.

    With ``log_group`` SSM also sends the whole output to CloudWatch Logs: the
    invocation itself keeps only its first few thousand characters.
    """
    logs = (
        {
            "CloudWatchOutputConfig": {
                "CloudWatchLogGroupName": log_group,
                "CloudWatchOutputEnabled": True,
            }
        }
        if log_group
        else {}
    )
    sent = ssm.send_command(
        InstanceIds=list(instance_ids),
        DocumentName="AWS-RunShellScript",
        Comment=comment[:100],
        Parameters={"commands": commands, "executionTimeout": [str(int(timeout_s))]},
        TimeoutSeconds=int(timeout_s),
        **logs,
    )
    command_id = sent["Command"]["CommandId"]
    pending = list(instance_ids)
    results: list[HostResult] = []
    deadline = time.monotonic() + timeout_s + 60
    while pending:
        for instance_id in list(pending):
            try:
                invocation = ssm.get_command_invocation(
                    CommandId=command_id, InstanceId=instance_id
                )
            except ssm.exceptions.InvocationDoesNotExist:
                continue  # SSM has not registered it yet
            if invocation["Status"] in _FINAL:
                pending.remove(instance_id)
                output = invocation.get("StandardErrorContent", "") or invocation.get(
                    "StandardOutputContent", ""
                )
                results.append(HostResult(instance_id, invocation["Status"], output, command_id))
        if pending:
            if time.monotonic() > deadline:
                results += [
                    HostResult(i, "TimedOut", "no answer from SSM", command_id) for i in pending
                ]
                break
            sleep(poll_s)
    return sorted(results, key=lambda r: r.instance_id)


@contextmanager
def out_of_service(fleet: Fleet, instance_id: str) -> Iterator[None]:
    """Behind the ALB: the host drained and out of the target group while the block
    runs, and back in service before the next host goes."""
    if fleet.target_group is None:
        yield
        return
    target = {"TargetGroupArn": fleet.target_group, "Targets": [{"Id": instance_id}]}
    # Drained: the deregistration delay lets requests in flight finish first.
    waiting = {"Delay": int(fleet.poll_s), "MaxAttempts": 120}
    fleet.elbv2.deregister_targets(**target)
    fleet.elbv2.get_waiter("target_deregistered").wait(**target, WaiterConfig=waiting)
    try:
        yield
    finally:
        fleet.elbv2.register_targets(**target)
        fleet.elbv2.get_waiter("target_in_service").wait(**target, WaiterConfig=waiting)


def release_host(fleet: Fleet, instance_id: str, commands: list[str], comment: str) -> HostResult:
    with out_of_service(fleet, instance_id):
        [result] = run_on_hosts(
            fleet.ssm,
            [instance_id],
            commands,
            comment=comment,
            log_group=fleet.log_group,
            poll_s=fleet.poll_s,
            sleep=fleet.sleep,
        )
    print(f"{instance_id}: {result.status}")
    if not result.ok:
        if result.output:
            print(result.output.rstrip(), file=sys.stderr)
        if fleet.log_group:
            print(
                f"{instance_id}: the whole output: aws logs tail {fleet.log_group} "
                f"--since 1d --log-stream-name-prefix {result.command_id}/{instance_id}/",
                file=sys.stderr,
            )
    return result


def current_release(fleet: Fleet) -> str | None:
    """The key of the release new instances install, if one was ever marked."""
    try:
        answer = fleet.s3.get_object(Bucket=fleet.bucket, Key=CURRENT_KEY)
    except fleet.s3.exceptions.NoSuchKey:
        return None
    return str(answer["Body"].read().decode())


def _release_of(key: str) -> str:
    return key.removeprefix("releases/").removesuffix(".tar.gz")


def deploy(fleet: Fleet, *, keep: int, root: Path = ROOT, release: str | None = None) -> int:
    release = release or release_id(root)
    instances = target_instances(fleet.ec2, fleet.tag)
    if not instances:
        print(f"no running instance is tagged {fleet.tag}", file=sys.stderr)
        return 1
    key = f"releases/{release}.tar.gz"
    previous = current_release(fleet)
    fleet.s3.put_object(Bucket=fleet.bucket, Key=key, Body=build_artifact(root))
    print(f"uploaded s3://{fleet.bucket}/{key}; releasing on {', '.join(instances)}, one at a time")

    def commands(*, indexes: bool = False, reuse: bool = False) -> list[str]:
        return remote_commands(
            bucket=fleet.bucket, key=key, release=release, keep=keep, indexes=indexes, reuse=reuse
        )

    done: list[str] = []
    for instance_id in instances:
        # The first host creates the indexes, so they exist before any host serves the new code.
        first = not done
        result = release_host(
            fleet, instance_id, commands(indexes=first), f"snapboard release {release}"
        )
        if not result.ok:
            print(f"release {release} failed on {instance_id}, which rolled back", file=sys.stderr)
            roll_back(fleet, done, previous=previous, script_key=key, keep=keep)
            return 1
        done.append(instance_id)

    fleet.s3.put_object(Bucket=fleet.bucket, Key=CURRENT_KEY, Body=key.encode())
    print(f"release {release} is current")
    # Instances the Auto Scaling group started meanwhile booted with the previous release.
    late = [i for i in target_instances(fleet.ec2, fleet.tag) if i not in instances]
    failed = [
        instance_id
        for instance_id in late
        if not release_host(
            fleet, instance_id, commands(reuse=True), f"snapboard release {release} (late host)"
        ).ok
    ]
    if failed:
        print(
            f"hosts started during the rollout failed to take it: {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


def roll_back(
    fleet: Fleet, instance_ids: list[str], *, previous: str | None, script_key: str, keep: int
) -> None:
    """Put the hosts that took the new release back on the previous one, one at a time."""
    if not instance_ids:
        return
    if previous is None:
        print(
            f"no release was current before: {', '.join(instance_ids)} keep the new one",
            file=sys.stderr,
        )
        return
    release = _release_of(previous)
    for instance_id in reversed(instance_ids):
        commands = remote_commands(
            bucket=fleet.bucket,
            key=previous,
            release=release,
            keep=keep,
            reuse=True,
            script_key=script_key,
        )
        release_host(fleet, instance_id, commands, f"snapboard rollback to {release}")
    print(f"{', '.join(instance_ids)} back on {release}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ec2.deploy", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--bucket", required=True, help="the stack's ArtifactBucketName output")
    parser.add_argument("--tag", required=True, help="key=value naming the hosts (InstanceTag)")
    parser.add_argument("--target-group", help="the stack's TargetGroupArn output (ALB only)")
    parser.add_argument("--log-group", help="the stack's DeployLogGroupName output")
    parser.add_argument("--keep", type=int, default=5, help="releases kept on each host")
    parser.add_argument("--region", help="AWS region (default: boto3's)")
    args = parser.parse_args(argv)
    if "=" not in args.tag:
        parser.error("--tag must be key=value")

    import boto3

    session = boto3.session.Session(region_name=args.region)
    fleet = Fleet(
        s3=session.client("s3"),
        ssm=session.client("ssm"),
        ec2=session.client("ec2"),
        elbv2=session.client("elbv2") if args.target_group else None,
        bucket=args.bucket,
        tag=args.tag,
        target_group=args.target_group or None,
        log_group=args.log_group or None,
    )
    return deploy(fleet, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
