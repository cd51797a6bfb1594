"""Deploy a release to the EC2 hosts.

    python -m ec2.deploy --bucket BUCKET --tag snapboard:stack=snapboard [--keep 5]

1. Build the artifact: app.py, chalicelib/, ec2/, .chalice/config.json and the
   requirements (the host installs ``requirements-ec2.lock``, every version
   pinned and hashed, into the release's own virtualenv).
2. Upload it to ``s3://BUCKET/releases/<release>.tar.gz``.
3. Run ``ec2/release.sh`` through SSM ``AWS-RunShellScript`` on every running
   instance with the tag, the first one alone and creating the MongoDB indexes
   (from inside AWS, where Atlas lets the hosts in): unpack into a new release directory, switch the
   ``current`` symlink, restart, wait for ``/ready``, roll back on failure,
   keep the newest N releases.
4. When every host succeeded, mark the release current
   (``releases/CURRENT``), which new instances install at first boot.

Exits non-zero when any host failed; those hosts are back on their previous
release. AWS credentials and region come from the usual boto3 places.
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
from collections.abc import Callable, Sequence
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

    @property
    def ok(self) -> bool:
        return self.status == "Success"


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
    *, bucket: str, key: str, release: str, keep: int, indexes: bool = False
) -> list[str]:
    """The shell run on each host: fetch the artifact, run its own release script.

    ``indexes``: the host also creates the MongoDB indexes before switching (one host
    per rollout does; the hosts reach Atlas, the machine running this may not).
    """
    artifact = f"/tmp/snapboard-{release}.tar.gz"  # noqa: S108 (root-owned, unique per release)
    variables = [("RELEASE", release), ("ARTIFACT", artifact), ("KEEP", str(keep))]
    if indexes:
        variables.append(("INDEXES", "1"))
    env = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables)
    source = shlex.quote(f"s3://{bucket}/{key}")
    return [
        "set -euo pipefail",
        f"aws s3 cp --only-show-errors {source} {shlex.quote(artifact)}",
        f"tar -xzOf {shlex.quote(artifact)} ec2/release.sh | {env} bash -s",
        f"rm -f {shlex.quote(artifact)}",
    ]


def run_on_hosts(
    ssm: Any,
    instance_ids: Sequence[str],
    commands: list[str],
    *,
    comment: str,
    timeout_s: float = 900,
    poll_s: float = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> list[HostResult]:
    """Send the commands with AWS-RunShellScript and wait for every host's outcome."""
    sent = ssm.send_command(
        InstanceIds=list(instance_ids),
        DocumentName="AWS-RunShellScript",
        Comment=comment[:100],
        Parameters={"commands": commands, "executionTimeout": [str(int(timeout_s))]},
        TimeoutSeconds=int(timeout_s),
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
                results.append(HostResult(instance_id, invocation["Status"], output))
        if pending:
            if time.monotonic() > deadline:
                results += [HostResult(i, "TimedOut", "no answer from SSM") for i in pending]
                break
            sleep(poll_s)
    return sorted(results, key=lambda r: r.instance_id)


def deploy(
    *,
    s3: Any,
    ssm: Any,
    ec2: Any,
    bucket: str,
    tag: str,
    keep: int,
    root: Path = ROOT,
    release: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    release = release or release_id(root)
    instances = target_instances(ec2, tag)
    if not instances:
        print(f"no running instance is tagged {tag}", file=sys.stderr)
        return 1
    key = f"releases/{release}.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=build_artifact(root))
    print(f"uploaded s3://{bucket}/{key}; releasing on {', '.join(instances)}")
    # The first host creates the indexes, so they exist before any host serves the new code.
    first, rest = instances[:1], instances[1:]
    results = run_on_hosts(
        ssm,
        first,
        remote_commands(bucket=bucket, key=key, release=release, keep=keep, indexes=True),
        comment=f"snapboard release {release} (with indexes)",
        sleep=sleep,
    )
    if rest and all(result.ok for result in results):
        results += run_on_hosts(
            ssm,
            rest,
            remote_commands(bucket=bucket, key=key, release=release, keep=keep),
            comment=f"snapboard release {release}",
            sleep=sleep,
        )
    for result in results:
        print(f"{result.instance_id}: {result.status}")
        if not result.ok and result.output:
            print(result.output.rstrip(), file=sys.stderr)
    if not all(result.ok for result in results):
        print(f"release {release} failed; failed hosts rolled back", file=sys.stderr)
        return 1
    s3.put_object(Bucket=bucket, Key=CURRENT_KEY, Body=key.encode())
    print(f"release {release} is current")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ec2.deploy", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--bucket", required=True, help="the stack's ArtifactBucketName output")
    parser.add_argument("--tag", required=True, help="key=value naming the hosts (InstanceTag)")
    parser.add_argument("--keep", type=int, default=5, help="releases kept on each host")
    parser.add_argument("--region", help="AWS region (default: boto3's)")
    args = parser.parse_args(argv)
    if "=" not in args.tag:
        parser.error("--tag must be key=value")

    import boto3

    session = boto3.session.Session(region_name=args.region)
    return deploy(
        s3=session.client("s3"),
        ssm=session.client("ssm"),
        ec2=session.client("ec2"),
        bucket=args.bucket,
        tag=args.tag,
        keep=args.keep,
    )


if __name__ == "__main__":
    sys.exit(main())
