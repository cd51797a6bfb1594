"""The baselines the shim is measured against: the least a WSGI app can do, and Flask."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

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
