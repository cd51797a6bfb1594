"""The baselines the shim is measured against.

Each answers ``GET /health`` with the same body as our app: the least a WSGI
app can do, Flask, Flask doing the same per-request work as our middleware
(request id, one JSON access line, CORS for an allowed origin, the same
security headers: the like-for-like peer), and the least any Chalice app can
cost through the shim (a hello route, no middleware), which splits the shim's
own cost from ours.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from typing import TYPE_CHECKING

from chalice.app import Chalice
from flask import Flask, Response, g, request

from chalicelib import middleware
from chalicelib.cors import OriginPolicy
from chalicelib.logs import bind_request_id, get_logger, unbind_request_id
from chalicelib.settings import Settings
from ec2.shim import Shim, ShimConfig

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

BODY = b'{"status":"ok"}'


def bare(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    """Hello in plain WSGI: the ceiling for any framework under the same server."""
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


flask_app = Flask(__name__)


@flask_app.get("/health")
def health() -> dict[str, str]:
    """Hello in Flask, the framework most readers know."""
    return {"status": "ok"}


flask_same_work = Flask("same_work")
_origins = OriginPolicy.from_patterns(Settings.from_env({}).cors_origins)
_access = get_logger("access")
# The rule our middleware applies to a client's X-Request-Id.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@flask_same_work.before_request
def _begin() -> None:
    g.started = time.perf_counter()
    supplied = request.headers.get(middleware.REQUEST_ID_HEADER)
    sane = supplied is not None and _SANE_REQUEST_ID.fullmatch(supplied) is not None
    g.request_id = supplied if sane else secrets.token_hex(16)
    g.token = bind_request_id(g.request_id)


@flask_same_work.after_request
def _finish(response: Response) -> Response:
    """What our middleware adds to every answer, and its access line."""
    origin = request.headers.get("Origin")
    response.headers["Vary"] = "Origin"
    if _origins.allows(origin):
        response.headers["Access-Control-Allow-Origin"] = str(origin)
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Expose-Headers"] = middleware.CORS_EXPOSE_HEADERS
    response.headers.update(middleware.SECURITY_HEADERS)
    response.headers["Content-Security-Policy"] = middleware.JSON_CSP
    response.headers["Cache-Control"] = "no-cache"
    response.headers[middleware.REQUEST_ID_HEADER] = g.request_id
    _access.info(
        {
            "event": "request",
            "method": request.method,
            "path": request.url_rule.rule if request.url_rule else request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.started) * 1000, 2),
        }
    )
    unbind_request_id(g.token)
    return response


@flask_same_work.get("/health")
def same_work_health() -> dict[str, str]:
    """Hello in Flask, with our middleware's work around it."""
    return {"status": "ok"}


chalice_hello = Chalice(app_name="hello")


@chalice_hello.route("/health")
def chalice_health() -> dict[str, str]:
    """Hello in Chalice, with nothing of ours but the shim around it."""
    return {"status": "ok"}


chalice_via_shim = Shim(chalice_hello, ShimConfig.load(os.environ))
