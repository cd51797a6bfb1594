"""HTTP middleware: request id, access log, body limit, CORS, security headers.

Runs around every route, including the fallbacks, on every runtime. It never
raises: Chalice would turn an exception here into its own 500 body.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalice.app import Request, Response

from chalicelib import errors, wire
from chalicelib.logs import bind_request_id, get_logger, unbind_request_id

if TYPE_CHECKING:
    from chalicelib.cors import OriginPolicy

log = get_logger("access")

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

CORS_ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_ALLOW_HEADERS = ("authorization", "content-type", "if-match", "if-none-match", "x-request-id")
CORS_EXPOSE_HEADERS = "ETag, Location, Retry-After, X-Request-Id"
CORS_MAX_AGE = "600"

# JSON never needs to load anything; HTML pages set their own policy.
JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Cross-Origin-Resource-Policy": "same-site",
}

GetResponse = Callable[[Request], Response]
Middleware = Callable[[Request, GetResponse], Response]


def build(*, origin_policy: Callable[[], OriginPolicy | None]) -> Middleware:
    """The middleware of one app; ``origin_policy`` says which origins get CORS (None: none)."""

    def http_middleware(request: Request, get_response: GetResponse) -> Response:
        return _handle(request, get_response, origin_policy)

    return http_middleware


def _handle(
    request: Request, get_response: GetResponse, origin_policy: Callable[[], OriginPolicy | None]
) -> Response:
    started = time.perf_counter()
    request_id = _request_id(request)
    token = bind_request_id(request_id)
    try:
        response = _limited(request, get_response)
        _normalise_chalice_error(response)
        if request.method == "HEAD":
            # HEAD is GET without the content (RFC 9110, 9.3.2): same status and headers.
            response.body = ""
        _add_cors(request, response, origin_policy)
        _add_security_headers(request, response)
        response.headers[REQUEST_ID_HEADER] = request_id
        log.info(
            {
                "event": "request",
                "method": request.method,
                "path": request.context.get("resourcePath", request.path),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
        )
        return response
    finally:
        unbind_request_id(token)


def _request_id(request: Request) -> str:
    supplied: str | None = request.headers.get(REQUEST_ID_HEADER.lower())
    if supplied and _SANE_REQUEST_ID.fullmatch(supplied):
        return supplied
    return os.urandom(16).hex()  # what secrets.token_hex does, without loading it


def _limited(request: Request, get_response: GetResponse) -> Response:
    try:
        wire.check_body_size(
            declared=request.headers.get("content-length"), received=len(request.raw_body or b"")
        )
    except errors.PayloadTooLarge as exc:
        return wire.error_to_response(exc)
    return get_response(request)


def _normalise_chalice_error(response: Response) -> None:
    """Rewrite an error Chalice produced itself ({"Code", "Message"}) as problem+json."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return
    status = response.status_code
    problem = wire.problem_response(
        status, _title(str(body["Code"])), str(body["Message"]), code="gateway_error"
    )
    response.body = problem.body
    response.headers["Content-Type"] = wire.PROBLEM_JSON


def _add_cors(
    request: Request, response: Response, origin_policy: Callable[[], OriginPolicy | None]
) -> None:
    origin = request.headers.get("origin")
    existing = response.headers.get("Vary")
    response.headers["Vary"] = _vary(existing if isinstance(existing, str) else None, "Origin")
    if not origin:
        return  # not asked: the settings are not read (a /health probe reads nothing)
    policy = origin_policy()
    if policy is None or not policy.allows(origin):
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
        requested = request.headers.get("access-control-request-headers", "")
        asked = [h.strip().lower() for h in requested.split(",") if h.strip()]
        allowed = [h for h in asked if h in CORS_ALLOW_HEADERS]
        response.headers["Access-Control-Allow-Methods"] = response.headers.get(
            "Allow", CORS_ALLOW_METHODS
        )
        response.headers["Access-Control-Allow-Headers"] = ", ".join(allowed or CORS_ALLOW_HEADERS)
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    else:
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS


def _title(code: str) -> str:
    """``UnsupportedMediaType`` -> ``Unsupported media type``."""
    words = re.findall(r"[A-Z][a-z]*", code) or [code]
    return " ".join(words).capitalize()


def _add_security_headers(request: Request, response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    content_type = response.headers.get("Content-Type", wire.JSON)
    if "json" in content_type:
        response.headers.setdefault("Content-Security-Policy", JSON_CSP)
    if "Cache-Control" in response.headers and response.status_code < 400:
        # The route chose its caching (media: public or private with a max-age); it knows
        # the response holds nothing personal even when the request carried credentials.
        return
    personal = "authorization" in request.headers or "cookie" in request.headers
    if personal or request.method not in ("GET", "HEAD") or response.status_code >= 400:
        # Personal data and tokens must not sit in any cache; errors are not cacheable facts.
        response.headers["Cache-Control"] = "no-store"
    else:
        response.headers["Cache-Control"] = "no-cache"


def _vary(existing: str | None, value: str) -> str:
    if not existing:
        return value
    parts = [p.strip() for p in existing.split(",")]
    return existing if value in parts else f"{existing}, {value}"
