"""Wire shapes for accounts and profiles."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field

from chalicelib.images.models import AvatarUrls
from chalicelib.model import Model
from chalicelib.principal import Role
from chalicelib.users.repository import UserRecord

# The account models are read from a UserRecord by field name (from_attributes).
# The record knows no avatar URLs, so the field has a default and ``of`` fills it;
# the document still says what every response carries: the field, required, no default.
_FROM_RECORD = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


def _documented_without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


# Characters that change how text around them is laid out or read rather than
# standing for themselves: control characters (NUL, CR, LF, tab, DEL, C1), lone
# surrogates, line and paragraph separators, and the bidirectional overrides and
# isolates that make a name display as something else.
_INVISIBLE_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
_BIDI_CONTROLS = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _layout_characters(text: str) -> bool:
    return any(
        unicodedata.category(ch) in _INVISIBLE_CATEGORIES or ch in _BIDI_CONTROLS for ch in text
    )


def _control_characters(text: str) -> bool:
    """NUL, escape sequences and the like; line breaks and tabs are text."""
    return any(unicodedata.category(ch) in {"Cc", "Cs"} and ch not in "\t\n\r" for ch in text)


def _display_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError("must not be blank")
    if _layout_characters(name):
        raise ValueError("must be one line of visible text (no control characters)")
    return name


def _bio(value: str) -> str:
    bio = value.strip()
    if _control_characters(bio):
        raise ValueError("must be text (line breaks and tabs are the only control characters)")
    return bio


# One line of visible text, trimmed; what a user is called next to everything they post.
DisplayName = Annotated[str, Field(max_length=50), AfterValidator(_display_name)]
# Free text, trimmed; lines are kept.
Bio = Annotated[str, Field(max_length=500), AfterValidator(_bio)]


class UserPrivate(Model):
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


class UserPublic(Model):
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


class ProfileUpdate(Model):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    bio: Bio | None = None


class PasswordChange(Model):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class UserList(Model):
    items: list[UserPrivate]
    next_cursor: str | None


class UserListQuery(Model):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class AdminUserUpdate(Model):
    model_config = ConfigDict(extra="forbid")

    disabled: bool | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=2)
