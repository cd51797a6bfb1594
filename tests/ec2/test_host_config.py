"""The host's configuration files are valid for the tools that read them.

cfn-lint checks ec2/cloudformation.yaml in `make lint-infra`, with every other
template in the tree; it is not run a second time here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from gunicorn.config import Config

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
def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
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
    site = (EC2 / "nginx.conf").read_text()
    site = site.replace("/etc/snapboard/tls", str(tls))
    site = site.replace("/etc/nginx/snapboard-proxy.conf", str(proxy))
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


def _gunicorn_config() -> Config:
    from gunicorn.config import Config

    config = Config()
    namespace: dict[str, object] = {"__file__": str(EC2 / "gunicorn.conf.py")}
    exec(compile((EC2 / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    for name in ("worker_class", "workers", "threads", "timeout", "graceful_timeout", "accesslog"):
        config.set(name, namespace[name])
    return config


def test_the_gunicorn_config_loads_with_sync_workers_and_no_second_access_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017")
    config = _gunicorn_config()
    assert config.worker_class_str == "sync"
    assert config.workers > 1
    assert config.timeout == 20  # the 15 s Lambda timeout, plus the shim's time to answer
    # The app writes the access line itself (on Lambda too); gunicorn adds none.
    assert config.accesslog is None


def test_the_embedded_store_gets_one_worker_with_more_threads_than_renders_can_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.images import local

    monkeypatch.delenv("MONGODB_URI", raising=False)
    config = _gunicorn_config()
    assert (config.worker_class_str, config.workers) == ("gthread", 1)
    assert config.threads > local.DEFAULT_MAX_RENDERS + local.DEFAULT_MAX_WAITING_RENDERS
