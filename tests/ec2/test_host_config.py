"""The host's configuration files are valid for the tools that read them.

cfn-lint checks ec2/cloudformation.yaml in `make lint-infra`, with every other
template in the tree; it is not run a second time here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

EC2 = ROOT / "ec2"
NGINX = shutil.which("nginx")
OPENSSL = shutil.which("openssl")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def test_the_template_opens_no_ssh_and_builds_both_shapes() -> None:
    template = (EC2 / "cloudformation.yaml").read_text()
    assert "FromPort: 22" not in template
    assert "AmazonSSMManagedInstanceCore" in template
    for resource in ("Instance:", "AutoScalingGroup:", "LoadBalancer:", "ArtifactBucket:"):
        assert f"\n  {resource}" in template


@pytest.mark.skipif(NGINX is None or OPENSSL is None, reason="needs nginx and openssl")
@pytest.mark.parametrize("site_file", ["nginx.conf", "nginx-alb.conf"])
def test_the_nginx_site_passes_nginx_t(tmp_path: Path, site_file: str) -> None:
    assert NGINX is not None
    assert OPENSSL is not None
    tls = tmp_path / "tls"
    tls.mkdir()
    key, cert = str(tls / "privkey.pem"), str(tls / "fullchain.pem")
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t"]
    subprocess.run(
        [OPENSSL, *request, "-keyout", key, "-out", cert],
        check=True,
        capture_output=True,
    )
    proxy = tmp_path / "snapboard-proxy.conf"
    shutil.copy(EC2 / "nginx-proxy.conf", proxy)
    errors = tmp_path / "snapboard-errors.conf"
    shutil.copy(EC2 / "nginx-errors.conf", errors)
    site = (EC2 / site_file).read_text()
    site = site.replace("/etc/snapboard/tls", str(tls))
    site = site.replace("/etc/nginx/snapboard-proxy.conf", str(proxy))
    site = site.replace("/etc/nginx/snapboard-errors.conf", str(errors))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd is not installed")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    units = ["snapboard.service", "snapboard-sweep.service", "snapboard-sweep.timer"]
    for unit in units:
        shutil.copy(EC2 / unit, tmp_path / unit)
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # The release's virtualenv does not exist here; anything else is a real finding.
    findings = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "is not executable" not in line
    ]
    assert findings == []


def test_the_sweep_timer_runs_the_manage_sweep_command() -> None:
    assert "python -m chalicelib.manage sweep" in (EC2 / "snapboard-sweep.service").read_text()
    assert "Unit=snapboard-sweep.service" in (EC2 / "snapboard-sweep.timer").read_text()


def test_a_host_with_mongodb_gets_processes_of_one_request_each_and_recycling() -> None:
    from ec2.server import KILL_TIMEOUT_SECONDS, ServerConfig

    config = ServerConfig.from_env({"MONGODB_URI": "mongodb://db.example:27017"})
    options = config.granian_options()
    # As gunicorn's sync workers: twice the CPUs plus one (threads doubled the feed's p99).
    assert options["workers"] == 2 * (os.cpu_count() or 1) + 1
    assert options["blocking_threads"] == 1
    assert options["workers_lifetime"] is not None
    # A stopping worker gets the 15 s Lambda timeout, plus time to answer, before it is killed.
    assert options["workers_kill_timeout"] == KILL_TIMEOUT_SECONDS == 20
    assert options["respawn_failed_workers"] is True
    # The app writes the access line itself (on Lambda too); the server adds none.
    assert options["log_access"] is False
    # Connections, not requests: more than nginx keeps idle, or nginx waits on its own pool.
    assert options["backpressure"] > 2 * 16


def test_the_embedded_store_gets_one_worker_with_more_threads_than_renders_can_hold() -> None:
    from chalicelib.images import local
    from ec2.server import ServerConfig

    options = ServerConfig.from_env({}).granian_options()
    assert options["workers"] == 1
    assert options["workers_lifetime"] is None  # the store has one owner: no overlap
    assert (
        options["blocking_threads"] > local.DEFAULT_MAX_RENDERS + local.DEFAULT_MAX_WAITING_RENDERS
    )


def test_a_unix_socket_bind_is_open_to_nginx_and_the_unit_binds_the_one_nginx_proxies_to() -> None:
    from ec2.server import ServerConfig

    unit = (EC2 / "snapboard.service").read_text()
    [bind] = re.findall(r"SERVER_BIND=(\S+)", unit)
    options = ServerConfig.from_env({"SERVER_BIND": bind}).granian_options()
    assert (str(options["uds"]), options["uds_permissions"]) == (
        bind.removeprefix("unix:"),
        0o666,
    )
    for site in ("nginx.conf", "nginx-alb.conf"):
        assert f"server {bind};" in (EC2 / site).read_text()
    assert f"--unix-socket {bind.removeprefix('unix:')} " in (EC2 / "release.sh").read_text()


def test_the_environment_tunes_workers_and_threads() -> None:
    from ec2.server import ServerConfig

    tuned = ServerConfig.from_env(
        {"MONGODB_URI": "mongodb://db", "WEB_CONCURRENCY": "3", "SERVER_THREADS": "4"}
    )
    assert (tuned.workers, tuned.threads) == (3, 4)
