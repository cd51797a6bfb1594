"""Typed, frozen settings built from a mapping of environment variables.

``Settings.from_env(os.environ)`` is called once per process by
``chalicelib.composition``; tests pass a plain dict. Every problem is reported at
start, all at once, naming the variable. Secret values are ``SecretStr``: they
print as ``**********`` in ``repr``, logs and tracebacks.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from functools import cached_property
from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from chalicelib.cors import InvalidOriginPattern, OriginPolicy
from chalicelib.errors import ConfigError as ConfigError  # raised here, defined there
from chalicelib.model import Model

Stage = Literal["dev", "prod"]
ImageStoreKind = Literal["imagekit", "local"]
MailBackend = Literal["ses", "outbox"]

# Environment variable -> settings field. The order is the README's order.
ENV_VARS: dict[str, str] = {
    "STAGE": "stage",
    "MONGODB_URI": "mongodb_uri",
    "MONGODB_DB": "mongodb_db",
    "IMAGE_STORE": "image_store",
    "IMAGEKIT_PRIVATE_KEY": "imagekit_private_key",
    "IMAGEKIT_PUBLIC_KEY": "imagekit_public_key",
    "IMAGEKIT_URL_ENDPOINT": "imagekit_url_endpoint",
    "MAIL_BACKEND": "mail_backend",
    "MAIL_FROM": "mail_from",
    "JWT_SECRET": "jwt_secret",
    "CORS_ORIGINS": "cors_origins",
    "SECRETS_PARAMETER_PATH": "secrets_parameter_path",
    "FRONTEND_URL": "frontend_url",
    "DATA_DIR": "data_dir",
    "AUTH_COOKIE_PATH": "auth_cookie_path",
    "PUBLIC_BASE_URL": "public_base_url",
}
_FIELD_TO_ENV = {field: env for env, field in ENV_VARS.items()}

# HMAC-SHA256 wants a key at least as long as its output (RFC 7518 section 3.2).
MIN_JWT_SECRET_BYTES = 32


class Settings(Model):
    """Everything the process reads from its environment, validated once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: Stage = "dev"
    mongodb_uri: SecretStr | None = None
    mongodb_db: str = Field(default="snapboard", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    image_store: ImageStoreKind = "local"
    imagekit_private_key: SecretStr | None = None
    imagekit_public_key: str | None = None
    imagekit_url_endpoint: str | None = Field(default=None, pattern=r"^https://\S+$")
    mail_backend: MailBackend = "outbox"
    mail_from: str = Field(default="no-reply@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    jwt_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(48)))
    jwt_secret_is_random: bool = True
    cors_origins: tuple[str, ...] = ("http://localhost:5173",)
    secrets_parameter_path: str | None = Field(default=None, pattern=r"^/[A-Za-z0-9_./-]+$")
    frontend_url: str = Field(default="http://localhost:5173", pattern=r"^https?://\S+$")
    # Where the dev backends keep files: local image store, mail outbox.
    data_dir: str = ".data"
    # Path of the refresh-token cookie as the browser sees the auth routes: behind
    # the Vercel rewrite they live under /api/auth.
    auth_cookie_path: str = Field(default="/auth", pattern=r"^/[A-Za-z0-9_./-]*$")
    # Where this API is reached from browsers: the local image store builds absolute URLs on it.
    public_base_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://\S+$")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from environment variables; raise ConfigError naming every problem."""
        values: dict[str, object] = {}
        for var, field in ENV_VARS.items():
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            values[field] = raw.strip()
        if "jwt_secret" in values:
            values["jwt_secret_is_random"] = False
        if "cors_origins" in values:
            values["cors_origins"] = tuple(
                origin for origin in str(values["cors_origins"]).split(",") if origin.strip()
            )
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    def with_jwt_secret(self, key: str) -> Settings:
        """These settings signing with ``key`` (the dev key kept beside the embedded store)."""
        return self.model_copy(update={"jwt_secret": SecretStr(key)})

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return OriginPolicy.from_patterns(value).patterns
        except InvalidOriginPattern as exc:
            raise ValueError(str(exc)) from None

    @field_validator("frontend_url", "public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        problems: list[str] = []
        if self.image_store == "imagekit":
            for field in ("imagekit_private_key", "imagekit_public_key", "imagekit_url_endpoint"):
                if getattr(self, field) is None:
                    problems.append(f"{_FIELD_TO_ENV[field]} is required when IMAGE_STORE=imagekit")
        if self.stage == "prod":
            problems.extend(self._prod_refusals())
        if problems:
            # One ValueError carrying every problem; `_describe` splits it back out.
            raise ValueError("\n".join(problems))
        return self

    def _prod_refusals(self) -> list[str]:
        refusals = []
        if self.jwt_secret_is_random:
            refusals.append(
                "JWT_SECRET must be set when STAGE=prod "
                "(a random per-process key would log everyone out on every restart)"
            )
        elif len(self.jwt_secret.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES:
            refusals.append(
                f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes when STAGE=prod"
            )
        if self.mongodb_uri is None:
            refusals.append(
                "MONGODB_URI must be set when STAGE=prod (the in-memory stand-in loses data)"
            )
        if self.image_store == "local":
            refusals.append("IMAGE_STORE=local is refused when STAGE=prod (use imagekit)")
        if self.mail_backend == "outbox":
            refusals.append("MAIL_BACKEND=outbox is refused when STAGE=prod (use ses)")
        if any(origin.startswith("http://") for origin in self.cors_origins):
            refusals.append("CORS_ORIGINS must list https origins only when STAGE=prod")
        return refusals

    @cached_property
    def origin_policy(self) -> OriginPolicy:
        return OriginPolicy.from_patterns(self.cors_origins)

    @property
    def uses_embedded_mongo(self) -> bool:
        return self.mongodb_uri is None


def _describe(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        if error["loc"]:
            field = str(error["loc"][0])
            # Never echo the rejected value: it may be a secret.
            problems.append(f"{_FIELD_TO_ENV.get(field, field)}: {error['msg']}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.extend(message.splitlines())
    return problems
