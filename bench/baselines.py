"""The baselines the shim is measured against.

Each answers ``GET /health`` with the same body as our app: the least a WSGI
app can do, Flask, and the least any Chalice app can cost through the shim
(a hello route, no middleware), which splits the shim's own cost from ours.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chalice.app import Chalice
from flask import Flask

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


chalice_hello = Chalice(app_name="hello")


@chalice_hello.route("/health")
def chalice_health() -> dict[str, str]:
    """Hello in Chalice, with nothing of ours but the shim around it."""
    return {"status": "ok"}


chalice_via_shim = Shim(chalice_hello, ShimConfig.load(os.environ))
