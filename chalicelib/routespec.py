"""What one route declares: read by the request wrapper (routing.py) and the docs (openapi.py).

A leaf: it imports neither of them, so neither imports the other.

A route names its models rather than holding them (``body="LoginIn"``), so that
declaring the routes, which ``import app`` does on every Lambda cold start,
loads no model and not pydantic: a name is looked up in the route's models
module (``chalicelib.auth.models``) the first time a request or the document
needs it; ``"package.module:Name"`` names a model elsewhere. A class works too.

The declarations are named tuples, not dataclasses: ``import app`` builds one per
route, and the ``dataclasses`` module (with ``inspect``, which it loads) and each
frozen dataclass's generated methods cost a cold start about 25 ms.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeAlias

from chalicelib.wire import JSON

if TYPE_CHECKING:
    from pydantic import BaseModel

# A model class, or its name (see the module's doc).
ModelRef: TypeAlias = "type[BaseModel] | str"

# What a route demands of its caller. "optional" passes ``user=None`` to anonymous callers.
AuthLevel = Literal["optional", "user", "verified", "admin"]


class RawBody(NamedTuple):
    """A request body the view reads itself, declared so that the document describes it.

    ``content`` maps each accepted media type (a range such as ``image/*`` too)
    to the model of its form fields (for ``multipart/form-data``), or to None
    for the bytes as sent. The wrapper parses none of it: a JSON body is
    declared with ``body=`` instead.
    """

    content: Mapping[str, ModelRef | None]
    required: bool = True


class RouteSpec(NamedTuple):
    """What one route accepts and answers."""

    path: str
    method: str
    name: str
    summary: str
    description: str
    tag: str
    # Where a model named without its module is found.
    models: str = ""
    body_ref: ModelRef | None = None
    body_required: bool = True
    raw_body: RawBody | None = None
    query_ref: ModelRef | None = None
    response_ref: ModelRef | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    response_media_type: str = JSON
    include_in_schema: bool = True
    auth: AuthLevel | None = None

    @property
    def body(self) -> type[BaseModel] | None:
        """The model of the JSON body, loaded at first use."""
        return resolve(self.body_ref, self.models)

    @property
    def query(self) -> type[BaseModel] | None:
        """The model of the query string, loaded at first use."""
        return resolve(self.query_ref, self.models)

    @property
    def response(self) -> type[BaseModel] | None:
        """The model of the answer, loaded at first use."""
        return resolve(self.response_ref, self.models)

    @property
    def raw_body_forms(self) -> dict[str, type[BaseModel] | None]:
        """Each media type of a raw body and the model of its form fields (None: bytes)."""
        content = self.raw_body.content if self.raw_body is not None else {}
        return {media_type: resolve(ref, self.models) for media_type, ref in content.items()}


def resolve(ref: ModelRef | None, models: str) -> type[BaseModel] | None:
    """The model ``ref`` names, looked up in the module ``models`` unless it names its own."""
    if ref is None or not isinstance(ref, str):
        return ref
    return _named(ref, models)


@functools.cache
def _named(ref: str, models: str) -> type[BaseModel]:
    module, _, name = ref.rpartition(":")
    found: type[BaseModel] = getattr(importlib.import_module(module or models), name)
    return found
