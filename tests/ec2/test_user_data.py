"""What an instance's first boot leaves behind, from the template's own user data."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib import composition
from chalicelib.secrets import environment_with_secrets
from chalicelib.settings import Settings
from tests.conftest import ROOT
from tests.ec2.template import REGION, env_file, user_data

JWT_SECRET = "j" * 48


@pytest.fixture
def host_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]
) -> Iterator[dict[str, str]]:
    """The process environment systemd gives the service: the env file, plus the
    instance profile's credentials (faked), and no AWS config file."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/absent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/absent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env = env_file()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield env


def test_the_env_file_gives_the_ssm_and_ses_clients_the_stacks_region(
    host_environment: dict[str, str], tmp_path: os.PathLike[str]
) -> None:
    path = host_environment["SECRETS_PARAMETER_PATH"]
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"{path}/JWT_SECRET", Type="SecureString", Value=JWT_SECRET
    )

    merged = environment_with_secrets(dict(os.environ))

    assert merged["JWT_SECRET"] == JWT_SECRET
    settings = Settings.from_env(
        {"MAIL_BACKEND": "ses", "MAIL_FROM": "no-reply@example.com", "DATA_DIR": str(tmp_path)}
    )
    mailer = composition.build_mailer(settings)
    assert mailer.client.meta.region_name == REGION  # type: ignore[attr-defined]


def test_first_boot_runs_the_release_script_under_no_private_umask() -> None:
    # release.sh sets its own umask too (tests/ec2/test_release_script.py); this keeps
    # the host's other files written after the env file ordinary.
    assert "umask 077" not in user_data()


@pytest.mark.parametrize(("use_alb", "edge"), [("false", "instance"), ("true", "alb")])
def test_first_boot_records_the_stacks_shape_for_release_sh_to_pick_the_nginx_site(
    use_alb: str, edge: str
) -> None:
    from tests.ec2.test_nginx import SITES

    assert f'echo "{edge}" > /etc/snapboard/edge' in user_data(UseLoadBalancer=use_alb)
    release = (ROOT / "ec2" / "release.sh").read_text()
    assert all(f"site={name}" in release for name in SITES.values())


STUBS = {
    # The artifact bucket: CURRENT names a release when the test says so.
    "aws": '[ "$1 $2" = "s3 cp" ] || exit 64\n'
    'case "$3" in *CURRENT) [ -n "$CURRENT" ] && echo "$CURRENT" || exit 1 ;;'
    ' *) : > "$4" ;; esac\n',
    "tar": 'echo \'echo "release.sh $RELEASE" >> "$LOG"\'\n',
    "systemctl": 'echo "systemctl $*" >> "$LOG"\n',
}


@pytest.mark.parametrize("current", ["", "releases/20250101T000000Z-abc1234.tar.gz"])
def test_first_boot_installs_the_current_release_or_else_answers_the_health_check(
    tmp_path: os.PathLike[str], current: str
) -> None:
    import subprocess
    from pathlib import Path

    tmp = Path(tmp_path)
    for name, body in STUBS.items():
        (tmp / name).write_text(f"#!/bin/sh\n{body}")
        (tmp / name).chmod(0o755)
    script = user_data(UseLoadBalancer="true")
    tail = script[script.index("systemctl enable nginx") :]
    tail = tail.replace("/tmp/snapboard-release", f"{tmp}/release")  # noqa: S108 (the host path)
    tail = tail.replace("/etc/nginx/conf.d/", f"{tmp}/")
    result = subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", tail],
        env={"PATH": f"{tmp}:/usr/bin:/bin", "CURRENT": current, "LOG": f"{tmp}/log"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    log = (tmp / "log").read_text().splitlines()
    if current:
        assert log == ["systemctl enable nginx", "release.sh 20250101T000000Z-abc1234"]
        assert not (tmp / "snapboard.conf").exists()
    else:
        assert log == ["systemctl enable nginx", "systemctl start nginx"]
        assert "location = /health" in (tmp / "snapboard.conf").read_text()


def test_the_group_gives_first_boot_time_to_install_before_health_checks_count() -> None:
    from tests.ec2.template import template

    group = template()["Resources"]["AutoScalingGroup"]["Properties"]
    assert group["HealthCheckType"] == "ELB"
    assert group["HealthCheckGracePeriod"] >= 600
