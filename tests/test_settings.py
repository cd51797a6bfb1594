from __future__ import annotations

import pytest

from chalicelib.settings import ConfigError, Settings

PROD_SAFE = {
    "STAGE": "prod",
    "MONGODB_URI": "mongodb+srv://app:s3cr3t-pass@cluster0.example.mongodb.net/",
    "IMAGE_STORE": "imagekit",
    "IMAGEKIT_PRIVATE_KEY": "private_abc123",
    "IMAGEKIT_PUBLIC_KEY": "public_abc123",
    "IMAGEKIT_URL_ENDPOINT": "https://ik.imagekit.io/acme",
    "MAIL_BACKEND": "ses",
    "MAIL_FROM": "hello@snapboard.example",
    "JWT_SECRET": "k" * 48,
    "CORS_ORIGINS": "https://snapboard.example,https://snapboard-*-acme.vercel.app",
    "FRONTEND_URL": "https://snapboard.example/",
}


def test_an_empty_environment_gives_the_documented_dev_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.stage == "dev"
    assert settings.mongodb_uri is None
    assert settings.uses_embedded_mongo
    assert settings.mongodb_db == "snapboard"
    assert settings.image_store == "local"
    assert settings.mail_backend == "outbox"
    assert settings.mail_from == "no-reply@localhost"
    assert settings.cors_origins == ("http://localhost:5173",)
    assert settings.frontend_url == "http://localhost:5173"
    assert settings.secrets_parameter_path is None
    assert settings.jwt_secret_is_random


def test_the_dev_jwt_key_is_random_per_process() -> None:
    first = Settings.from_env({}).jwt_secret.get_secret_value()
    second = Settings.from_env({}).jwt_secret.get_secret_value()
    assert first != second
    assert len(first) >= 32


def test_blank_values_count_as_unset() -> None:
    settings = Settings.from_env({"MONGODB_URI": "  ", "STAGE": ""})
    assert settings.mongodb_uri is None
    assert settings.stage == "dev"


def test_a_complete_production_environment_is_accepted() -> None:
    settings = Settings.from_env(PROD_SAFE)
    assert settings.stage == "prod"
    assert settings.image_store == "imagekit"
    assert not settings.jwt_secret_is_random
    assert settings.frontend_url == "https://snapboard.example"
    assert settings.origin_policy.allows("https://snapboard-git-main-acme.vercel.app")


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(ValueError, match="frozen"):
        settings.stage = "prod"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STAGE", "staging"),
        ("IMAGE_STORE", "s3"),
        ("MAIL_BACKEND", "smtp"),
        ("MAIL_FROM", "not-an-address"),
        ("MONGODB_DB", "bad name/with slash"),
        ("IMAGEKIT_URL_ENDPOINT", "http://insecure.example"),
        ("CORS_ORIGINS", "https://ok.example,ftp://files.example"),
        ("CORS_ORIGINS", "https://exa*mple.com/path"),
        ("SECRETS_PARAMETER_PATH", "no-leading-slash"),
        ("FRONTEND_URL", "localhost:5173"),
    ],
)
def test_an_invalid_value_fails_fast_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert any(problem.startswith(f"{variable}:") for problem in caught.value.problems), (
        caught.value.problems
    )


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"STAGE": "staging", "MAIL_BACKEND": "smtp"})
    named = {problem.split(":")[0] for problem in caught.value.problems}
    assert named == {"STAGE", "MAIL_BACKEND"}


def test_imagekit_needs_its_three_variables() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IMAGE_STORE": "imagekit", "IMAGEKIT_PUBLIC_KEY": "public_x"})
    message = str(caught.value)
    assert "IMAGEKIT_PRIVATE_KEY is required" in message
    assert "IMAGEKIT_URL_ENDPOINT is required" in message
    assert "IMAGEKIT_PUBLIC_KEY is required" not in message


def test_prod_refuses_every_unsafe_dev_default_in_one_message() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"STAGE": "prod"})
    message = str(caught.value)
    for variable in ("JWT_SECRET", "MONGODB_URI", "IMAGE_STORE", "MAIL_BACKEND", "CORS_ORIGINS"):
        assert variable in message
    assert len(caught.value.problems) == 5


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"JWT_SECRET": ""}, "JWT_SECRET"),
        ({"JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"MONGODB_URI": ""}, "MONGODB_URI"),
        ({"IMAGE_STORE": "local"}, "IMAGE_STORE"),
        ({"MAIL_BACKEND": "outbox"}, "MAIL_BACKEND"),
        ({"CORS_ORIGINS": "http://localhost:5173"}, "CORS_ORIGINS"),
    ],
)
def test_prod_refuses_each_unsafe_default_alone(override: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**PROD_SAFE, **override})
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(variable)


def test_secrets_never_show_in_repr_str_or_errors() -> None:
    settings = Settings.from_env(PROD_SAFE)
    shown = repr(settings) + str(settings)
    for secret in ("s3cr3t-pass", "private_abc123", "k" * 48):
        assert secret not in shown
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**PROD_SAFE, "JWT_SECRET": "tiny-secret-value"})
    assert "tiny-secret-value" not in str(caught.value)


def test_unknown_variables_are_ignored() -> None:
    assert Settings.from_env({"PATH": "/usr/bin", "HOME": "/root"}).stage == "dev"
