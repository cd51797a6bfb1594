"""Wire shapes for accounts and profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.images.models import AvatarUrls
from chalicelib.principal import Role
from chalicelib.users.repository import UserRecord

# The account models are read from a UserRecord by field name (from_attributes).
# The record knows no avatar URLs, so the field has a default and ``of`` fills it;
# the document still says what every response carries: the field, required, no default.
_FROM_RECORD = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


def _documented_without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class UserPrivate(BaseModel):
    """The signed-in user's own account, as only they (and admins) see it."""

    model_config = _FROM_RECORD

    id: str
    email: str
    username: str
    display_name: str
    bio: str
    roles: list[Role]
    email_verified: bool
    disabled: bool
    avatar: AvatarUrls | None = Field(
        default=None,
        description="Avatar URLs by size, or null.",
        json_schema_extra=_documented_without_default,
    )
    created_at: datetime

    @classmethod
    def of(cls, user: UserRecord, *, avatar: AvatarUrls | None) -> UserPrivate:
        return cls.model_validate(user).model_copy(update={"avatar": avatar})


class UserPublic(BaseModel):
    """What anyone may see of a user: never the email address or internal state."""

    model_config = _FROM_RECORD

    id: str
    username: str
    display_name: str
    bio: str
    avatar: AvatarUrls | None = Field(
        default=None,
        description="Avatar URLs by size, or null.",
        json_schema_extra=_documented_without_default,
    )
    created_at: datetime

    @classmethod
    def of(cls, user: UserRecord, *, avatar: AvatarUrls | None) -> UserPublic:
        return cls.model_validate(user).model_copy(update={"avatar": avatar})


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=50)
    bio: str | None = Field(default=None, max_length=500)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class UserList(BaseModel):
    items: list[UserPrivate]
    next_cursor: str | None


class UserListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disabled: bool | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=2)
