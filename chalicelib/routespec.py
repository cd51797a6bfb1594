"""What one route declares: read by the request wrapper (routing.py) and the docs (openapi.py).

A leaf: it imports neither of them, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from chalicelib.wire import JSON

# What a route demands of its caller. "optional" passes ``user=None`` to anonymous callers.
AuthLevel = Literal["optional", "user", "verified", "admin"]


@dataclass(frozen=True)
class RawBody:
    """A request body the view reads itself, declared so that the document describes it.

    ``content`` maps each accepted media type (a range such as ``image/*`` too)
    to the model of its form fields (for ``multipart/form-data``), or to None
    for the bytes as sent. The wrapper parses none of it: a JSON body is
    declared with ``body=`` instead.
    """

    content: Mapping[str, type[BaseModel] | None]
    required: bool = True


@dataclass(frozen=True)
class RouteSpec:
    """What one route accepts and answers."""

    path: str
    method: str
    name: str
    summary: str
    description: str
    tag: str
    body: type[BaseModel] | None = None
    body_required: bool = True
    raw_body: RawBody | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    response_media_type: str = JSON
    include_in_schema: bool = True
    auth: AuthLevel | None = None
