"""Wire shapes for accounts and profiles."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.images.models import AvatarUrls
from chalicelib.principal import Role
from chalicelib.users.repository import UserRecord


class UserPrivate(BaseModel):
    """The signed-in user's own account, as only they (and admins) see it."""

    id: str
    email: str
    username: str
    display_name: str
    bio: str
    roles: list[Role]
    email_verified: bool
    disabled: bool
    avatar: AvatarUrls | None = Field(description="Avatar URLs by size, or null.")
    created_at: datetime

    @classmethod
    def of(cls, user: UserRecord, *, avatar: AvatarUrls | None) -> UserPrivate:
        return cls(
            id=user.id,
            email=user.email,
            username=user.username,
            display_name=user.display_name,
            bio=user.bio,
            roles=list(user.roles),
            email_verified=user.email_verified,
            disabled=user.disabled,
            avatar=avatar,
            created_at=user.created_at,
        )


class UserPublic(BaseModel):
    """What anyone may see of a user: never the email address or internal state."""

    id: str
    username: str
    display_name: str
    bio: str
    avatar: AvatarUrls | None = Field(description="Avatar URLs by size, or null.")
    created_at: datetime

    @classmethod
    def of(cls, user: UserRecord, *, avatar: AvatarUrls | None) -> UserPublic:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            bio=user.bio,
            avatar=avatar,
            created_at=user.created_at,
        )


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
