"""ec2/certificate.sh with certbot and nginx stood in for: what ends up where nginx reads it."""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "ec2" / "certificate.sh"
BASH = shutil.which("bash") or "/bin/bash"
# A certbot that "issues" a pair into the live directory and runs the deploy hook, as
# the real one does after an issue or a renewal.
FAKE_CERTBOT = """#!/bin/bash
set -eu
echo "$*" > "$CALLS"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --domain) domain=${args[i+1]} ;;
    --deploy-hook) hook=${args[i+1]} ;;
  esac
done
mkdir -p "$LIVE_DIR/$domain"
echo "chain for $domain" > "$LIVE_DIR/$domain/fullchain.pem"
echo "key for $domain" > "$LIVE_DIR/$domain/privkey.pem"
RENEWED_LINEAGE="$LIVE_DIR/$domain" $hook
"""


def test_the_issued_pair_replaces_the_stand_in_and_nginx_reloads(tmp_path: Path) -> None:
    certbot = tmp_path / "certbot"
    certbot.write_text(FAKE_CERTBOT)
    certbot.chmod(0o755)
    systemctl = tmp_path / "fake-systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/systemctl\n')
    systemctl.chmod(0o755)
    tls = tmp_path / "tls"
    tls.mkdir()
    (tls / "fullchain.pem").write_text("self-signed")
    env = {
        "PATH": "/usr/bin:/bin",
        "DOMAIN": "api.snapboard.test",
        "EMAIL": "ops@snapboard.test",
        "CERTBOT": str(certbot),
        "HOOK_SCRIPT": str(SCRIPT),
        "UNIT_DIR": str(tmp_path),
        "SYSTEMCTL": str(systemctl),
        "CALLS": str(tmp_path / "calls"),
        "WEBROOT": str(tmp_path / "acme"),
        "LIVE_DIR": str(tmp_path / "live"),
        "TLS_DIR": str(tls),
        "TLS_GROUP": grp.getgrgid(os.getgid()).gr_name,
        "RELOAD_CMD": f"echo reloaded >> {tmp_path}/reloads",
    }
    result = subprocess.run(
        [BASH, str(SCRIPT)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text()
    assert f"certonly --webroot --webroot-path {tmp_path}/acme --domain api.snapboard.test" in calls
    assert (tls / "fullchain.pem").read_text() == "chain for api.snapboard.test\n"
    assert (tls / "privkey.pem").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "reloads").read_text().split() == ["reloaded", "reloaded"]
    renew = (tmp_path / "snapboard-certbot.service").read_text()
    assert f'renew --quiet --deploy-hook "bash {SCRIPT} install"' in renew
    assert (tmp_path / "snapboard-certbot.timer").exists()
    assert "enable --now snapboard-certbot.timer" in (tmp_path / "systemctl").read_text()


def test_the_script_names_its_missing_inputs(tmp_path: Path) -> None:
    result = subprocess.run(
        [BASH, str(SCRIPT)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DOMAIN" in result.stderr
