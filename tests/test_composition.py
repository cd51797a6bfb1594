"""The composition root: the app factory and the clients it builds, once."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import mongomock
import pytest

from chalicelib import composition
from chalicelib.clock import utc_now
from chalicelib.composition import Clients, build_mongo_client
from chalicelib.settings import ConfigError, Settings
from tests.conftest import ROOT


def test_importing_the_app_imports_no_sdk_and_reads_no_settings() -> None:
    probe = (
        "import sys, app; from chalicelib import composition; "
        "heavy = [m for m in ('pymongo', 'bson', 'mongomock', 'boto3', 'botocore', 'imagekitio') "
        "if m in sys.modules]; "
        "print(heavy, composition._process)"
    )
    env = {"PATH": "/usr/bin:/bin", "STAGE": "nonsense"}  # would fail if settings were read
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] None"


def test_the_embedded_stand_in_is_used_without_a_uri(tmp_path: Path) -> None:
    client = build_mongo_client(Settings.from_env({"DATA_DIR": str(tmp_path)}))
    try:
        assert isinstance(client, mongomock.MongoClient)
        assert (tmp_path / "embedded.sqlite3").exists()
    finally:
        client.close()


def test_clients_are_built_once_even_under_concurrent_first_use(tmp_path: Path) -> None:
    lazy = Clients(Settings.from_env({"DATA_DIR": str(tmp_path)}))
    seen: list[int] = []
    barrier = threading.Barrier(8)

    def first_use() -> None:
        barrier.wait()
        seen.append(id(lazy.mongo_client))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1
    lazy.mongo_client.close()


def test_dev_applies_indexes_at_first_use_of_the_database(tmp_path: Path) -> None:
    lazy = Clients(Settings.from_env({"DATA_DIR": str(tmp_path)}))
    assert "email_unique" in {i["name"] for i in lazy.db.users.list_indexes()}
    assert lazy.db is lazy.db
    lazy.mongo_client.close()


@pytest.mark.usefixtures("process_clients")
def test_the_process_clients_read_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_DB", "from_env")
    first = composition.process_clients()
    monkeypatch.setenv("MONGODB_DB", "changed")
    assert composition.process_clients() is first
    assert first.settings.mongodb_db == "from_env"


@pytest.mark.usefixtures("process_clients")
def test_the_process_clients_fail_fast_on_a_bad_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STAGE", "prod")
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        composition.process_clients()


def test_the_clock_keeps_the_precision_mongodb_stores() -> None:
    assert utc_now().microsecond % 1000 == 0
    assert utc_now().tzinfo is not None


LAMBDA_DEFAULTS = {
    "server_selection_timeout": 2.0,
    "connect_timeout": 2.0,
    "max_pool_size": 10,
    "min_pool_size": 0,
    "max_idle_time_seconds": 60.0,
    "retry_writes": True,
    "retry_reads": True,
}


def client_options(uri: str) -> dict[str, Any]:
    """The options a real client is built with for ``MONGODB_URI=uri`` (nothing is dialled)."""
    client: Any = build_mongo_client(Settings.from_env({"MONGODB_URI": uri}))
    try:
        options, pool = client.options, client.options.pool_options
        return {
            "server_selection_timeout": options.server_selection_timeout,
            "connect_timeout": pool.connect_timeout,
            "max_pool_size": pool.max_pool_size,
            "min_pool_size": pool.min_pool_size,
            "max_idle_time_seconds": pool.max_idle_time_seconds,
            "retry_writes": options.retry_writes,
            "retry_reads": options.retry_reads,
        }
    finally:
        client.close()


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # Short timeouts, a small pool and retries, suited to Lambda.
        pytest.param("mongodb://127.0.0.1:9/", LAMBDA_DEFAULTS, id="defaults"),
        pytest.param(
            "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=9000",
            {**LAMBDA_DEFAULTS, "server_selection_timeout": 9.0},
            id="a-timeout-in-the-uri",
        ),
        # Options written in the URI win, whatever their case.
        pytest.param(
            "mongodb://127.0.0.1:9/?MAXPOOLSIZE=50&retryWrites=false&maxIdleTimeMS=5000",
            {
                **LAMBDA_DEFAULTS,
                "max_pool_size": 50,
                "retry_writes": False,
                "max_idle_time_seconds": 5.0,
            },
            id="pool-and-retries-in-the-uri",
        ),
        # An option name inside the password does not count as set.
        pytest.param("mongodb://app:maxPoolSize%3D3@127.0.0.1:9/", LAMBDA_DEFAULTS, id="password"),
    ],
)
def test_a_real_client_gets_lambda_defaults_unless_the_uri_sets_an_option(
    uri: str, expected: dict[str, Any]
) -> None:
    assert client_options(uri) == expected


def test_the_dev_key_is_made_once_beside_the_embedded_store(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    first = composition.with_kept_dev_keys(settings).jwt_secret.get_secret_value()
    again = composition.with_kept_dev_keys(Settings.from_env({"DATA_DIR": str(tmp_path)}))
    assert again.jwt_secret.get_secret_value() == first
    assert len(first) >= 32
    key_file = tmp_path / "keys" / "jwt"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert list(key_file.parent.iterdir()) == [key_file]  # no temporary file left


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"JWT_SECRET": "x" * 40}, id="a JWT_SECRET is used as given"),
        pytest.param({"MONGODB_URI": "mongodb://127.0.0.1:9/"}, id="a real MongoDB"),
    ],
)
def test_no_dev_key_is_kept_when_the_key_or_the_database_is_not_the_embedded_default(
    tmp_path: Path, env: dict[str, str]
) -> None:
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), **env})
    assert composition.with_kept_dev_keys(settings) is settings
    assert not (tmp_path / "keys").exists()


def test_make_reset_removes_the_store_and_its_files_but_never_under_a_running_owner(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    composition.with_kept_dev_keys(settings)
    for name in ("media/a.png", "outbox/m.eml", "elsewhere.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    client = build_mongo_client(settings)
    client.app.users.insert_one({"_id": "ann"})
    with pytest.raises(ConfigError, match="in use by process"):
        composition.reset_embedded(settings)
    client.close()
    composition.reset_embedded(settings)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.txt", "embedded.lock"]
    client = build_mongo_client(settings)
    assert client.app.users.find_one() is None
    client.close()
