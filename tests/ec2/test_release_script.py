"""ec2/release.sh, run for real in a temporary directory with systemd and curl faked."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "ec2" / "release.sh"
BASH = shutil.which("bash") or "/bin/bash"


def artifact(tmp_path: Path, name: str, *, healthy: bool) -> Path:
    """A release tarball; the fake health check passes when it holds a HEALTHY file."""
    path = tmp_path / f"{name}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        files = {"app.py": b"# app\n", "VERSION": name.encode()}
        if healthy:
            files["HEALTHY"] = b""
        for file_name, data in files.items():
            info = tarfile.TarInfo(file_name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def release(
    tmp_path: Path,
    name: str,
    *,
    healthy: bool = True,
    keep: int = 3,
    extra_env: dict[str, str] | None = None,
    umask: str = "022",
    defaults: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the script; the names in `defaults` keep the script's own default."""
    root = tmp_path / "srv"
    env = {
        "PATH": "/usr/bin:/bin",
        "RELEASE": name,
        "ARTIFACT": str(artifact(tmp_path, name, healthy=healthy)),
        "SNAPBOARD_ROOT": str(root),
        "KEEP": str(keep),
        "INSTALL_CMD": "touch INSTALLED",
        "RESTART_CMD": f'echo "$(cat {root}/current/VERSION)" >> {tmp_path}/restarts',
        "HEALTH_CMD": f"test -e {root}/current/HEALTHY",
        "HEALTH_TRIES": "2",
        "HEALTH_INTERVAL": "0",
        **(extra_env or {}),
    }
    for name in defaults:
        del env[name]
    command = f'umask {umask} && exec "$0" "$1"'
    return subprocess.run(
        [BASH, "-c", command, BASH, str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def current(tmp_path: Path) -> str:
    return (tmp_path / "srv" / "current" / "VERSION").read_text()


def restarts(tmp_path: Path) -> list[str]:
    return (tmp_path / "restarts").read_text().split()


def test_a_healthy_release_becomes_current_after_its_dependencies_install(tmp_path: Path) -> None:
    result = release(tmp_path, "20250101T000000Z-aaaaaaa")
    assert result.returncode == 0, result.stderr
    assert current(tmp_path) == "20250101T000000Z-aaaaaaa"
    assert (tmp_path / "srv" / "current" / "INSTALLED").exists()
    assert (tmp_path / "srv" / "current").resolve().parent == tmp_path / "srv" / "releases"
    assert restarts(tmp_path) == ["20250101T000000Z-aaaaaaa"]


def test_an_unhealthy_release_rolls_back_and_fails(tmp_path: Path) -> None:
    assert release(tmp_path, "20250101T000000Z-good000").returncode == 0
    result = release(tmp_path, "20250102T000000Z-bad0000", healthy=False)
    assert result.returncode != 0
    assert "rolling back" in result.stderr
    assert current(tmp_path) == "20250101T000000Z-good000"
    assert not (tmp_path / "srv" / "releases" / "20250102T000000Z-bad0000").exists()
    # Restarted on the bad one, then again on the good one.
    assert restarts(tmp_path) == [
        "20250101T000000Z-good000",
        "20250102T000000Z-bad0000",
        "20250101T000000Z-good000",
    ]


def test_a_first_release_that_fails_leaves_no_current(tmp_path: Path) -> None:
    result = release(tmp_path, "20250101T000000Z-bad0000", healthy=False)
    assert result.returncode != 0
    assert not (tmp_path / "srv" / "current").exists()


def test_only_the_newest_releases_are_kept(tmp_path: Path) -> None:
    names = [f"2025010{day}T000000Z-abcdef{day}" for day in range(1, 6)]
    for name in names:
        assert release(tmp_path, name, keep=3).returncode == 0
    kept = sorted(p.name for p in (tmp_path / "srv" / "releases").iterdir())
    assert kept == names[-3:]
    assert current(tmp_path) == names[-1]


def test_an_existing_release_is_never_overwritten(tmp_path: Path) -> None:
    assert release(tmp_path, "20250101T000000Z-aaaaaaa").returncode == 0
    again = release(tmp_path, "20250101T000000Z-aaaaaaa")
    assert again.returncode != 0
    assert "refusing" in again.stderr


@pytest.mark.parametrize("missing", ["RELEASE", "ARTIFACT"])
def test_the_script_names_a_missing_input(tmp_path: Path, missing: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "RELEASE": "r", "ARTIFACT": "/nope"}
    del env[missing]
    result = subprocess.run(
        [BASH, str(SCRIPT)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert missing in result.stderr


def test_with_indexes_the_new_release_creates_them_with_the_service_env_before_the_switch(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "env"
    env_file.write_text(
        "# the service's env\nSTAGE=prod\nMAIL_FROM=Snapboard <no-reply@x.test> $HOME\n"
    )
    root = tmp_path / "srv"
    indexes = (
        f"with_service_env sh -c 'echo \"$STAGE|$MAIL_FROM|$(readlink {root}/current)\"' "
        f"> {tmp_path}/indexes"
    )
    result = release(
        tmp_path,
        "20250101T000000Z-aaaaaaa",
        extra_env={"INDEXES": "1", "ENV_FILE": str(env_file), "INDEXES_CMD": indexes},
    )
    assert result.returncode == 0, result.stderr
    # Taken literally, and run while `current` did not exist yet.
    assert (tmp_path / "indexes").read_text() == "prod|Snapboard <no-reply@x.test> $HOME|\n"


def test_failing_indexes_leave_current_untouched(tmp_path: Path) -> None:
    assert release(tmp_path, "20250101T000000Z-good000").returncode == 0
    result = release(
        tmp_path, "20250102T000000Z-new0000", extra_env={"INDEXES": "1", "INDEXES_CMD": "false"}
    )
    assert result.returncode != 0
    assert "could not create the indexes" in result.stderr
    assert current(tmp_path) == "20250101T000000Z-good000"
    assert not (tmp_path / "srv" / "releases" / "20250102T000000Z-new0000").exists()


def test_without_indexes_none_are_created(tmp_path: Path) -> None:
    result = release(tmp_path, "20250101T000000Z-aaaaaaa", extra_env={"INDEXES_CMD": "false"})
    assert result.returncode == 0, result.stderr


def test_under_the_user_datas_umask_the_release_is_readable_by_the_service_user(
    tmp_path: Path,
) -> None:
    # First boot runs this from user data, whose umask is 077 (for the env file); the
    # service runs as the unprivileged `snapboard` user, "other" to these root-owned files.
    install = "mkdir -p .venv/bin .venv/lib && touch .venv/lib/site.py && touch INSTALLED"
    result = release(
        tmp_path, "20250101T000000Z-aaaaaaa", extra_env={"INSTALL_CMD": install}, umask="077"
    )
    assert result.returncode == 0, result.stderr
    new = tmp_path / "srv" / "releases" / "20250101T000000Z-aaaaaaa"
    for path in [tmp_path / "srv", new.parent, new, *new.rglob("*")]:
        mode = path.stat().st_mode
        wanted = 0o005 if path.is_dir() else 0o004
        assert mode & wanted == wanted, f"{path}: {oct(mode)}"


def requirement_pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` in a requirements file and its `-r` files."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins |= requirement_pins(path.parent / line.removeprefix("-r ").strip())
        elif line:
            requirement = Requirement(line)
            [specifier] = requirement.specifier
            assert specifier.operator == "==", line
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of requirements-ec2.lock."""
    from packaging.utils import canonicalize_name

    text = (ROOT / "requirements-ec2.lock").read_text().replace("\\\n", " ")
    entries: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            pin, *options = line.split()
            name, _, version = pin.partition("==")
            hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
            entries[canonicalize_name(name)] = (version, hashes)
    return entries


def test_the_lock_pins_every_requirement_of_the_hosts_at_its_version_with_hashes() -> None:
    # Re-lock after changing requirements*.txt: the command is the lock's own header.
    lock = locked()
    pins = requirement_pins(ROOT / "requirements-ec2.txt")
    assert {name: lock.get(name, ("missing", []))[0] for name in pins} == pins
    assert all(
        hashes and all(h.startswith("sha256:") for h in hashes) for _, hashes in lock.values()
    )
    header = (ROOT / "requirements-ec2.lock").read_text().splitlines()[1]
    assert "uv pip compile requirements-ec2.txt --generate-hashes" in header


def test_the_host_installs_exactly_the_lock_checking_every_hash(tmp_path: Path) -> None:
    # The release's default install, with a stand-in interpreter whose virtualenv's pip
    # records what it was asked to install.
    python = tmp_path / "python3.11"
    python.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2 $3" = "-m venv .venv" ] || exit 64\n'
        "mkdir -p .venv/bin\n"
        f"printf '#!/bin/sh\\necho \"$*\" > {tmp_path}/pip-args\\n' > .venv/bin/pip\n"
        "chmod +x .venv/bin/pip\n"
    )
    python.chmod(0o755)
    result = release(
        tmp_path,
        "20250101T000000Z-aaaaaaa",
        extra_env={"PYTHON": str(python)},
        defaults=("INSTALL_CMD",),
    )
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "pip-args").read_text().split()
    assert args[:1] == ["install"]
    assert "--require-hashes" in args
    assert args[args.index("-r") + 1] == "requirements-ec2.lock"


def test_reuse_switches_back_to_an_unpacked_release_without_reinstalling_it(
    tmp_path: Path,
) -> None:
    # What ec2/deploy.py's rollback does on a host that took the new release.
    assert release(tmp_path, "20250101T000000Z-old0000").returncode == 0
    assert release(tmp_path, "20250102T000000Z-new0000").returncode == 0
    old = tmp_path / "srv" / "releases" / "20250101T000000Z-old0000"
    (old / "INSTALLED").unlink()
    result = release(tmp_path, "20250101T000000Z-old0000", extra_env={"REUSE": "1"})
    assert result.returncode == 0, result.stderr
    assert current(tmp_path) == "20250101T000000Z-old0000"
    assert not (old / "INSTALLED").exists(), "reused as it is, not installed again"


def test_a_reused_release_that_fails_stays_on_disk(tmp_path: Path) -> None:
    assert release(tmp_path, "20250101T000000Z-aaaaaaa").returncode == 0
    unpacked = tmp_path / "srv" / "releases" / "20250101T000000Z-aaaaaaa"
    (unpacked / "HEALTHY").unlink()
    result = release(tmp_path, "20250101T000000Z-aaaaaaa", extra_env={"REUSE": "1"})
    assert result.returncode != 0
    assert unpacked.exists(), "a reused release is some host's previous one: never removed"
