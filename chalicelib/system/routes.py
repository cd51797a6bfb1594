"""The service's own endpoints: liveness, readiness, and its API description."""

from __future__ import annotations

import base64
import re
import weakref
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib import lazy, wire
from chalicelib.routing import Answer, Api, Context, Router

# Loaded by the first request that needs them; the document's builder loads
# pydantic's JSON Schema generator, and /health needs none of them.
if TYPE_CHECKING:
    import hashlib

    from chalicelib import openapi
    from chalicelib.system import models, service
else:
    hashlib = lazy.module("hashlib")  # the docs page's CSP hashes
    openapi = lazy.module("chalicelib.openapi")
    models = lazy.module("chalicelib.system.models")
    service = lazy.module("chalicelib.system.service")

router = Router(__name__, tag="system")

_DOCS_PAGE = Path(__file__).with_name("docs.html")
# Built once per app, at the first request for it: the routes never change after start.
_documents: weakref.WeakKeyDictionary[Api, dict[str, Any]] = weakref.WeakKeyDictionary()


# The liveness answer, written out: the probe a load balancer or a warmer sends most
# often, and a Lambda's first request, encodes no model (tests/system hold it to Health).
HEALTH_BODY = '{"status":"ok"}'


@router.route("/", response="Index")
def index(ctx: Context) -> models.Index:
    """Where to start: links to the API description."""
    return models.Index(name=ctx.api.app_name, docs="docs", openapi="openapi.json")


@router.route("/health", response="Health")
def health(ctx: Context) -> Answer:
    """Liveness: the process answers. Touches nothing outside it."""
    return Answer(HEALTH_BODY, media_type=wire.JSON)


@router.route("/ready", response="Ready", errors=[503])
def ready(ctx: Context) -> models.Ready:
    """Readiness: MongoDB answers a ping within about two seconds, else 503."""
    service.check_ready(mongo_client=ctx.mongo_client)
    return models.Ready()


@router.route("/openapi.json", include_in_schema=False)
def openapi_document(ctx: Context) -> Answer:
    """The OpenAPI 3.1 document built from the route declarations."""
    return Answer(document(ctx.api), headers={"Cache-Control": "no-cache"})


def document(api: Api) -> dict[str, Any]:
    """The app's OpenAPI document, built from its routes' declarations at first use."""
    if api not in _documents:
        _documents[api] = openapi.build_document(api.specs, title=api.app_name)
    return _documents[api]


@router.route("/docs", response_media_type="text/html", include_in_schema=False)
def docs(ctx: Context) -> Answer:
    """A small, self-contained page that renders the OpenAPI document."""
    page, csp = _docs_page()
    headers = {"Content-Security-Policy": csp, "Cache-Control": "no-cache"}
    return Answer(page, headers=headers, media_type="text/html; charset=utf-8")


@cache
def _docs_page() -> tuple[str, str]:
    """The page and a CSP that allows exactly its own inline script and style."""
    page = _DOCS_PAGE.read_text(encoding="utf-8")
    script = _hash(_inline(page, "script"))
    style = _hash(_inline(page, "style"))
    csp = (
        f"default-src 'none'; script-src '{script}'; style-src '{style}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return page, csp


def _inline(page: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.DOTALL)
    assert match is not None, f"docs.html has no inline <{tag}>"
    return match.group(1)


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")
