from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

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


def test_the_embedded_stand_in_is_used_without_a_uri() -> None:
    client = build_mongo_client(Settings.from_env({}))
    assert type(client).__module__.startswith("mongomock")


def test_a_real_client_gets_short_timeouts_unless_the_uri_sets_them() -> None:
    settings = Settings.from_env({"MONGODB_URI": "mongodb://127.0.0.1:9/"})
    client: Any = build_mongo_client(settings)
    try:
        assert client.options.server_selection_timeout == 2.0
        assert client.options.pool_options.connect_timeout == 2.0
    finally:
        client.close()
    tuned = Settings.from_env(
        {"MONGODB_URI": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=9000"}
    )
    client = build_mongo_client(tuned)
    try:
        assert client.options.server_selection_timeout == 9.0
    finally:
        client.close()


def test_clients_are_built_once_even_under_concurrent_first_use() -> None:
    lazy = Clients(Settings.from_env({}))
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


def test_dev_applies_indexes_at_first_use_of_the_database() -> None:
    lazy = Clients(Settings.from_env({}))
    assert "email_unique" in {i["name"] for i in lazy.db.users.list_indexes()}
    assert lazy.db is lazy.db


@pytest.mark.usefixtures("process_clients")
def test_current_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_DB", "from_env")
    first = composition.process_clients()
    monkeypatch.setenv("MONGODB_DB", "changed")
    assert composition.process_clients() is first
    assert first.settings.mongodb_db == "from_env"


@pytest.mark.usefixtures("process_clients")
def test_current_fails_fast_on_a_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "prod")
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        composition.process_clients()


def test_the_clock_keeps_the_precision_mongodb_stores() -> None:
    assert utc_now().microsecond % 1000 == 0
    assert utc_now().tzinfo is not None


def test_a_real_client_gets_a_small_pool_and_retries_suited_to_lambda() -> None:
    client: Any = build_mongo_client(Settings.from_env({"MONGODB_URI": "mongodb://127.0.0.1:9/"}))
    try:
        assert client.options.pool_options.max_pool_size == 10
        assert client.options.pool_options.min_pool_size == 0
        assert client.options.pool_options.max_idle_time_seconds == 60.0
        assert client.options.retry_writes is True
        assert client.options.retry_reads is True
    finally:
        client.close()


def test_pool_and_retry_options_written_in_the_uri_win_whatever_their_case() -> None:
    uri = "mongodb://127.0.0.1:9/?MAXPOOLSIZE=50&retryWrites=false&maxIdleTimeMS=5000"
    client: Any = build_mongo_client(Settings.from_env({"MONGODB_URI": uri}))
    try:
        assert client.options.pool_options.max_pool_size == 50
        assert client.options.retry_writes is False
        assert client.options.pool_options.max_idle_time_seconds == 5.0
    finally:
        client.close()


def test_an_option_name_inside_the_password_does_not_count_as_set() -> None:
    uri = "mongodb://app:maxPoolSize%3D3@127.0.0.1:9/"
    client: Any = build_mongo_client(Settings.from_env({"MONGODB_URI": uri}))
    try:
        assert client.options.pool_options.max_pool_size == 10
    finally:
        client.close()
