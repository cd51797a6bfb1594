"""Wire shapes of posts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from chalicelib.images.models import AvatarUrls, ImagePublic
from chalicelib.model import Model

Visibility = Literal["public", "private", "draft"]

MAX_TAGS = 10
MAX_IMAGES = 20
_TAG = re.compile(r"[a-z0-9-]{1,30}")
_ID = r"^[0-9a-f]{24}$"


def _normalise_tags(tags: list[str]) -> list[str]:
    """Lower-case, validate and de-duplicate, keeping the author's order."""
    cleaned: list[str] = []
    for index, raw in enumerate(tags):
        tag = raw.strip().lower()
        if not _TAG.fullmatch(tag):
            raise ValueError(f"tag {index} must be 1-30 characters of a-z, 0-9 and '-'")
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _distinct(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("an image may appear only once")
    return ids


Title = Annotated[str, Field(min_length=1, max_length=140), AfterValidator(str.strip)]
Body = Annotated[str, Field(max_length=10_000)]
Tags = Annotated[list[str], Field(max_length=MAX_TAGS), AfterValidator(_normalise_tags)]
ImageIds = Annotated[
    list[Annotated[str, Field(pattern=_ID)]],
    Field(max_length=MAX_IMAGES, description="Images you own, in display order."),
    AfterValidator(_distinct),
]


class PostCreate(Model):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body = ""
    tags: Tags = []  # noqa: RUF012 (pydantic copies a default per instance)
    visibility: Visibility = "public"
    image_ids: ImageIds = []  # noqa: RUF012 (pydantic copies a default per instance)


class PostUpdate(Model):
    """Only the fields sent change; ``image_ids`` replaces the whole gallery."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None
    image_ids: ImageIds | None = None


class AuthorSummary(Model):
    id: str
    username: str
    display_name: str
    avatar: AvatarUrls | None = Field(description="Avatar URLs by size, or null.")


class PostPublic(Model):
    id: str
    title: str
    body: str
    tags: list[str]
    visibility: Visibility
    author: AuthorSummary
    images: list[ImagePublic]
    created_at: datetime
    updated_at: datetime
    version: int


class PostPage(Model):
    items: list[PostPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class PostQuery(Model):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)
    tag: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,30}$")
    author: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{3,30}$")
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Words to search for in title and body.",
    )
