"""Wire shapes for authentication."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.model import Model
from chalicelib.users.models import DisplayName, UserPrivate

# Loose bounds here; the rules (normalisation, password policy) live in the service
# so that every failing field is reported together with a precise message.
Email = str
Password = str


class RegisterIn(Model):
    model_config = ConfigDict(extra="forbid")

    email: Email = Field(max_length=320)
    username: str = Field(max_length=64)
    password: Password = Field(max_length=256)
    display_name: DisplayName | None = None


class Registered(Model):
    user: UserPrivate


class LoginIn(Model):
    model_config = ConfigDict(extra="forbid")

    email: Email = Field(max_length=320)
    password: Password = Field(max_length=256)


class RefreshIn(Model):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(default=None, max_length=200)


class TokenPair(Model):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        description=(
            "The next refresh token. Null only on a refresh within the grace window, "
            "where the token rotated by a concurrent request stays the current one."
        )
    )
    user: UserPrivate


class TokenIn(Model):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)


class PasswordResetIn(Model):
    model_config = ConfigDict(extra="forbid")

    email: Email = Field(max_length=320)


class PasswordResetConfirm(Model):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)
    password: Password = Field(max_length=256)


class Accepted(Model):
    status: Literal["accepted"] = "accepted"
    detail: str
