"""What crosses the wire, for every route: JSON encoding, request parsing, problem+json.

Named ``wire``, not ``http``, so it is never read as the standard library's module.

This module holds the one error map: every ``DomainError`` and every pydantic
``ValidationError`` becomes an RFC 9457 ``application/problem+json`` response
here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import Request, Response

from chalicelib import errors, lazy

# pydantic loads with the first body parsed or answer encoded: /health needs neither.
if TYPE_CHECKING:
    import pydantic
    import pydantic_core
    from pydantic import BaseModel, ValidationError
else:
    pydantic = lazy.module("pydantic")
    pydantic_core = lazy.module("pydantic_core")

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
# Lambda refuses an event over 6 MiB (API Gateway would allow 10 MB), and a binary
# body is in it as base64, 4/3 of its size, beside the headers (API Gateway allows
# 10 KiB of them, and the event holds them twice) and the request context. The
# largest body that always fits, so that a body within it works on both runtimes.
LAMBDA_EVENT_BYTES = 6 * 1024 * 1024
MAX_BODY_BYTES = (LAMBDA_EVENT_BYTES - 64 * 1024) // 4 * 3  # 4,669,440

# What one error report may hold. A 422 is read by a person fixing a request: the
# first failures say what is wrong, and a body of 450,000 unknown keys must answer
# in a few hundred bytes, not one error per key (Lambda refuses answers over 6 MB).
MAX_REPORTED_ERRORS = 20
MAX_FIELD_CHARS = 100
MAX_MESSAGE_CHARS = 300
MAX_DETAIL_CHARS = 1000
# Objects with free-form keys (none today) get this many members.
MAX_FREE_FORM_MEMBERS = 1000

ModelT = TypeVar("ModelT", bound="BaseModel")

_STATUS: dict[type[errors.DomainError], tuple[int, str]] = {
    errors.BadRequest: (400, "Bad request"),
    errors.InvalidInput: (422, "Invalid input"),
    errors.Unauthenticated: (401, "Authentication required"),
    errors.Forbidden: (403, "Forbidden"),
    errors.NotFound: (404, "Not found"),
    errors.MethodNotAllowed: (405, "Method not allowed"),
    errors.Conflict: (409, "Conflict"),
    errors.PreconditionFailed: (412, "Precondition failed"),
    errors.PayloadTooLarge: (413, "Payload too large"),
    errors.UnsupportedMediaType: (415, "Unsupported media type"),
    errors.RateLimited: (429, "Too many requests"),
    errors.UpstreamFailed: (502, "Upstream service failed"),
    errors.Unavailable: (503, "Service unavailable"),
}


# --------------------------------------------------------------------------- JSON


def dumps(value: Any) -> str:
    """Compact JSON, written by pydantic-core: a model exactly as its ``model_dump_json``.

    Ids (``ObjectId``) become strings; anything else pydantic-core does not know
    is refused with ``TypeError`` rather than stringified.
    """
    try:
        return pydantic_core.to_json(_in_utc(value), fallback=_id_as_text).decode()
    except pydantic_core.PydanticSerializationError as exc:
        raise TypeError(str(exc)) from None


def _in_utc(value: Any) -> Any:
    """Raw datetimes as aware UTC, written with ``Z`` (MongoDB stores UTC; naive is UTC).

    pydantic-core writes a datetime as given; models format their own fields.
    """
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC)
    if isinstance(value, dict):
        return {key: _in_utc(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_in_utc(item) for item in value]
    return value


def _id_as_text(value: Any) -> str:
    # Checked by name so this module never imports bson on the /health path.
    if type(value).__name__ == "ObjectId":
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(
    body: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str | list[str]] | None = None,
    content_type: str = JSON,
) -> Response:
    merged: dict[str, str | list[str]] = {"Content-Type": content_type, **(headers or {})}
    text = None if body is None else dumps(body)
    return Response(body=text or "", status_code=status, headers=merged)


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    merged: dict[str, str | list[str]] = dict(headers or {})
    return Response(body="", status_code=status, headers=merged)


# ---------------------------------------------------------------------- problems


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    field_errors: tuple[errors.FieldError, ...] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    # Clipped here, where every problem becomes a body, whoever raised it.
    # The shape chalicelib.problem.Problem documents (tests/test_wire.py holds them together).
    problem: dict[str, Any] = {
        "type": f"urn:snapboard:problem:{code}",
        "title": title,
        "status": status,
        "detail": _clip(detail, MAX_DETAIL_CHARS),
        "code": code,
    }
    reported = field_errors[:MAX_REPORTED_ERRORS]
    if reported:
        problem["errors"] = [
            {
                "field": _clip(e.field, MAX_FIELD_CHARS),
                "message": _clip(e.message, MAX_MESSAGE_CHARS),
            }
            for e in reported
        ]
    merged: dict[str, str | list[str]] = {"Content-Type": PROBLEM_JSON, **(headers or {})}
    # Plain JSON by the standard library, so an error answer loads no pydantic; ASCII,
    # so that a lone surrogate a client put in a field name cannot break the encoding.
    body = json.dumps(problem, separators=(",", ":"))
    return Response(body=body, status_code=status, headers=merged)


def error_to_response(exc: errors.DomainError) -> Response:
    """The one error map: a domain error becomes problem+json."""
    status, title = _lookup(type(exc))
    headers: dict[str, str] = {}
    if isinstance(exc, (errors.RateLimited, errors.Unavailable)):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.MethodNotAllowed):
        headers["Allow"] = ", ".join(exc.allowed)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    field_errors = exc.errors if isinstance(exc, errors.InvalidInput) else ()
    return problem_response(
        status, title, exc.detail, code=exc.code, field_errors=field_errors, headers=headers
    )


def internal_error_response() -> Response:
    # Never a traceback or an exception message in the body: they leak internals.
    return problem_response(
        500, "Internal server error", "The server failed to handle this request.", code="internal"
    )


def _lookup(kind: type[errors.DomainError]) -> tuple[int, str]:
    for klass in kind.__mro__:
        if klass in _STATUS:
            return _STATUS[klass]
    return 400, "Bad request"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def validation_error(exc: ValidationError) -> errors.InvalidInput:
    """Turn pydantic's report into field errors named the way the client sent them.

    The first ``MAX_REPORTED_ERRORS`` are listed; the detail says how many there were.
    """
    found = exc.errors(include_url=False, include_input=False, include_context=False)
    field_errors = []
    for item in found[:MAX_REPORTED_ERRORS]:
        field = ".".join(str(part) for part in item["loc"]) or "body"
        field_errors.append(errors.FieldError(_clip(field, MAX_FIELD_CHARS), _message(item["msg"])))
    return errors.InvalidInput.fields(field_errors, total=exc.error_count())


def _message(msg: str) -> str:
    # Our own validators raise ValueError; pydantic prefixes their text.
    return msg.removeprefix("Value error, ")


# ------------------------------------------------------------- request parsing


def check_body_size(*, declared: str | None = None, received: int = 0) -> None:
    """The one body limit: refuse a body whose declared or received length is over it.

    ``declared`` is the Content-Length as sent, so a body can be refused
    before a byte of it is read.
    """
    length = parse_decimal(declared)
    if (length is not None and length > MAX_BODY_BYTES) or received > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"Request bodies are limited to {MAX_BODY_BYTES} bytes.")


# RFC 9110, 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list.
_ENTITY_TAG = re.compile(r'[ \t]*(W/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|$)')
_LIST_GAP = re.compile(r"[ \t]*,")


def _entity_tags(header: str) -> list[tuple[bool, str]]:
    """The ``(weak, opaque tag)`` pairs of an ``If-Match``/``If-None-Match`` list.

    An ill-formed list yields no tags, so its condition matches nothing.
    """
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(header):
        gap = _LIST_GAP.match(header, position)  # empty list elements are allowed
        if gap is not None:
            position = gap.end()
            continue
        found = _ENTITY_TAG.match(header, position)
        if found is None:
            return [] if header[position:].strip() else tags
        tags.append((found.group(1) is not None, found.group(2)))
        position = found.end()
    return tags


def none_match(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches the current ``etag``: a GET or HEAD then answers 304.

    RFC 9110, 13.1.2: ``*`` matches any current representation, and tags are
    compared weakly (``W/"v2"`` matches ``"v2"``).
    """
    if header is None:
        return False
    if header.strip() == "*":
        return True
    current = etag.removeprefix("W/")
    return any(tag == current for _, tag in _entity_tags(header))


def if_match(header: str | None, etag: str) -> bool:
    """Whether a change may go ahead under ``If-Match`` (absent: yes).

    RFC 9110, 13.1.1: ``*`` matches any current representation, and tags are
    compared strongly: a weak tag never matches, nor does a weak current one.
    """
    if header is None or header.strip() == "*":
        return True
    if etag.startswith("W/"):
        return False
    return any(not weak and tag == etag for weak, tag in _entity_tags(header))


def media_type(request: Request) -> str:
    """The request's media type without parameters, lower-case ("" when absent)."""
    header = request.headers.get("content-type") or ""
    return header.split(";", 1)[0].strip().lower()


def parse_json_body(request: Request, model: type[ModelT], *, required: bool = True) -> ModelT:
    """Validate a JSON request body against ``model``, or raise a domain error.

    With ``required=False`` an empty body stands for ``{}`` (all defaults).
    """
    if not required and not request.raw_body:
        return model.model_validate({})
    kind = media_type(request)
    if kind != JSON and not kind.endswith("+json"):
        raise errors.UnsupportedMediaType(
            f"Send the body as {JSON} (got {kind or 'no Content-Type'})."
        )
    limit = member_limit(model)
    try:
        data = json.loads(request.raw_body or b"null", object_pairs_hook=_bounded_object(limit))
    except (ValueError, RecursionError):  # RecursionError: "[[[[...", thousands deep
        raise errors.BadRequest("The body is not valid JSON.", code="malformed_json") from None
    except _TooManyMembers as exc:
        raise errors.InvalidInput.field(
            "body", f"An object in the body has {exc.count} members; at most {limit} are accepted."
        ) from None
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None


class _TooManyMembers(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _bounded_object(limit: int) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A ``json.loads`` hook that refuses an object wider than ``limit`` as it is parsed.

    pydantic spends time on every unknown key (seconds for 450,000 of them), so
    the width is checked first, in the parser, before any of that work.
    Arrays need no such check: every request model bounds them (``max_length``,
    tests/test_wire.py), and pydantic compares the length before the items.
    """

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(pairs) > limit:
            raise _TooManyMembers(len(pairs))
        return dict(pairs)

    return hook


@functools.cache
def member_limit(model: type[BaseModel]) -> int:
    """The most members an object in a body for ``model`` may have.

    The widest object the model declares, plus room for pydantic to name
    ``MAX_REPORTED_ERRORS`` unknown members one by one; past that, the body is
    refused as a whole.
    """
    widest = 0
    pending: list[Any] = [model.model_json_schema()]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            widest = max(widest, len(node.get("properties") or {}))
            if node.get("additionalProperties") not in (None, False):
                widest = max(widest, MAX_FREE_FORM_MEMBERS)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return widest + MAX_REPORTED_ERRORS


_MAX_DIGITS = 18
DECIMAL_CAP = 10**_MAX_DIGITS


def parse_decimal(text: str | None) -> int | None:
    """A whole number a client wrote (a length, a timestamp, a size); None unless ASCII digits.

    ``"²".isdigit()`` is true yet ``int("²")`` raises, and ``int()`` refuses more
    than 4,300 digits, so a number past ``DECIMAL_CAP`` is that cap (still far
    over any limit it is compared with) rather than parsed.
    """
    if not text or not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else DECIMAL_CAP


def validate(model: type[ModelT], data: Any) -> ModelT:
    """``data`` as ``model``, or the ``InvalidInput`` that names each failing field."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None


def parse_query(request: Request, model: type[ModelT]) -> ModelT:
    """Validate query parameters; a repeated parameter arrives as a list."""
    params = request.query_params
    data: dict[str, Any] = {}
    limit = member_limit(model)
    if params is not None and len(params) > limit:
        raise errors.InvalidInput.field(
            "query", f"{len(params)} query parameters; at most {limit} are accepted."
        )
    if params is not None:
        for key in params:
            values = params.getlist(key)
            data[key] = values[0] if len(values) == 1 else values
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None


def client_ip(request: Request) -> str:
    """The caller's address as the gateway saw it (the EC2 shim fills it the same way)."""
    identity = request.context.get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")
