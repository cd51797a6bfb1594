from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from chalicelib import composition, logs
from chalicelib.secrets import SecretsUnavailable, environment_with_secrets, load_secrets
from chalicelib.settings import ENV_VARS, ConfigError

PATH = "/snapboard/prod"
JWT_SECRET = "s3cr3t-" + "k" * 40
REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A moto account; the default boto3 credential chain finds fake keys."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def ssm(aws: None) -> Any:
    return boto3.client("ssm", region_name=REGION)


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """The secrets logger's lines, as the JSON objects the app would print."""
    lines: list[dict[str, Any]] = []
    formatter = logs.JsonFormatter()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(formatter.format(record)))

    handler = Collect()
    logger = logs.get_logger("secrets")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def put(ssm: Any, name: str, value: str, kind: str = "SecureString") -> None:
    ssm.put_parameter(Name=name, Value=value, Type=kind)


def test_every_secure_string_under_the_path_fills_the_variable_named_by_its_last_segment(
    ssm: Any,
) -> None:
    put(ssm, f"{PATH}/JWT_SECRET", JWT_SECRET)
    put(ssm, f"{PATH}/imagekit/IMAGEKIT_PRIVATE_KEY", "private_abc")
    put(ssm, "/snapboard/dev/MONGODB_URI", "mongodb://dev-only/")

    env = environment_with_secrets(
        {"SECRETS_PARAMETER_PATH": PATH, "STAGE": "prod"}, ssm_client=ssm
    )

    assert env == {
        "SECRETS_PARAMETER_PATH": PATH,
        "STAGE": "prod",
        "JWT_SECRET": JWT_SECRET,
        "IMAGEKIT_PRIVATE_KEY": "private_abc",
    }


def test_values_from_the_parameter_store_win_over_the_environment(ssm: Any) -> None:
    put(ssm, f"{PATH}/MAIL_FROM", "team@snapboard.example")

    env = environment_with_secrets(
        {"SECRETS_PARAMETER_PATH": PATH, "MAIL_FROM": "no-reply@localhost"}, ssm_client=ssm
    )

    assert env["MAIL_FROM"] == "team@snapboard.example"


def test_every_page_of_parameters_is_read(ssm: Any) -> None:
    names = [name for name in ENV_VARS if name != "SECRETS_PARAMETER_PATH"]
    assert len(names) > 10, "SSM returns at most 10 parameters a page"
    for name in names:
        put(ssm, f"{PATH}/{name}", f"value-of-{name}")
    pages: list[int] = []
    ssm.meta.events.register(
        "after-call.ssm.GetParametersByPath",
        lambda parsed, **_: pages.append(len(parsed["Parameters"])),
    )

    secrets = load_secrets(PATH, ssm_client=ssm)

    assert secrets == {name: f"value-of-{name}" for name in names}
    assert len(pages) >= 2


def test_without_a_path_nothing_is_read() -> None:
    env = {"STAGE": "dev", "SECRETS_PARAMETER_PATH": "  "}
    # Any call on this client would raise AttributeError.
    assert environment_with_secrets(env, ssm_client=object()) is env


def test_a_refused_read_stops_the_start_with_one_clear_log_line(
    ssm: Any, log_lines: list[dict[str, Any]]
) -> None:
    stubber = Stubber(ssm)
    stubber.add_client_error(
        "get_parameters_by_path",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: ssm:GetParametersByPath",
        http_status_code=400,
    )

    with stubber, pytest.raises(SecretsUnavailable) as caught:
        environment_with_secrets({"SECRETS_PARAMETER_PATH": PATH}, ssm_client=ssm)

    assert isinstance(caught.value, ConfigError)
    assert caught.value.problems == [
        f"SECRETS_PARAMETER_PATH={PATH}: SSM refused the read (AccessDeniedException)"
    ]
    [line] = log_lines
    assert line["level"] == "error"
    assert line["event"] == "secrets_unavailable"
    assert line["path"] == PATH


def test_an_unreachable_parameter_store_stops_the_start() -> None:
    client = boto3.client(
        "ssm",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )

    with pytest.raises(SecretsUnavailable, match="SSM unreachable"):
        environment_with_secrets({"SECRETS_PARAMETER_PATH": PATH}, ssm_client=client)


def test_an_empty_path_is_refused_rather_than_read_as_no_secrets(ssm: Any) -> None:
    put(ssm, "/snapboard/staging/JWT_SECRET", JWT_SECRET)

    with pytest.raises(SecretsUnavailable, match="no parameters under this path"):
        load_secrets(PATH, ssm_client=ssm)


def test_a_plain_string_or_an_unknown_name_under_the_path_is_refused_by_name(
    ssm: Any, log_lines: list[dict[str, Any]]
) -> None:
    put(ssm, f"{PATH}/JWT_SECRET", JWT_SECRET, kind="String")
    put(ssm, f"{PATH}/JWT_SECRT", JWT_SECRET)

    with pytest.raises(SecretsUnavailable) as caught:
        environment_with_secrets({"SECRETS_PARAMETER_PATH": PATH}, ssm_client=ssm)

    assert caught.value.problems == [
        f"{PATH}/JWT_SECRET is a String; store it as a SecureString",
        f"{PATH}/JWT_SECRT does not name a setting (JWT_SECRT is unknown)",
    ]
    assert JWT_SECRET not in str(caught.value)
    assert JWT_SECRET not in json.dumps(log_lines)


def test_loaded_secrets_are_logged_by_name_never_by_value(
    ssm: Any, log_lines: list[dict[str, Any]]
) -> None:
    put(ssm, f"{PATH}/JWT_SECRET", JWT_SECRET)

    environment_with_secrets({"SECRETS_PARAMETER_PATH": PATH}, ssm_client=ssm)

    assert log_lines[-1]["event"] == "secrets_loaded"
    assert log_lines[-1]["names"] == ["JWT_SECRET"]
    assert JWT_SECRET not in json.dumps(log_lines)


@pytest.fixture
def prod_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment .chalice/config.json gives the prod Lambda: no secrets in it."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("IMAGE_STORE", "imagekit")
    monkeypatch.setenv("MAIL_BACKEND", "ses")
    monkeypatch.setenv("CORS_ORIGINS", "https://snapboard.example")
    monkeypatch.setenv("SECRETS_PARAMETER_PATH", PATH)
    composition.forget_process_clients()
    yield
    composition.forget_process_clients()


@pytest.mark.usefixtures("prod_environment")
def test_the_process_services_read_the_parameter_store_once(ssm: Any) -> None:
    put(ssm, f"{PATH}/JWT_SECRET", JWT_SECRET)
    put(ssm, f"{PATH}/MONGODB_URI", "mongodb+srv://app:pw@cluster0.example.mongodb.net/")
    put(ssm, f"{PATH}/IMAGEKIT_PRIVATE_KEY", "private_abc")
    put(ssm, f"{PATH}/IMAGEKIT_PUBLIC_KEY", "public_abc")
    put(ssm, f"{PATH}/IMAGEKIT_URL_ENDPOINT", "https://ik.imagekit.io/snapboard")

    first = composition.process_clients()
    ssm.delete_parameter(Name=f"{PATH}/JWT_SECRET")

    assert first.settings.stage == "prod"
    assert first.settings.jwt_secret.get_secret_value() == JWT_SECRET
    assert composition.process_clients() is first


@pytest.mark.usefixtures("prod_environment")
def test_the_process_never_starts_on_defaults_when_the_secrets_are_missing(ssm: Any) -> None:
    with pytest.raises(SecretsUnavailable):
        composition.process_clients()
    assert composition._process is None
