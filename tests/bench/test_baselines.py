"""The baselines answer what our /health answers, so the ratios compare like with like."""

from __future__ import annotations

import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from bench import baselines
from ec2.wsgi import application
from tests.support import WsgiApp, call_wsgi


def health_answer(app: WsgiApp, **headers: str) -> tuple[int, list[tuple[str, str]], bytes]:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO="/health", REQUEST_METHOD="GET", REMOTE_ADDR="127.0.0.1")
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return call_wsgi(app, environ)


def get_health(app: WsgiApp) -> tuple[int, str, Any]:
    status, headers, body = health_answer(app)
    content_type = next(value for name, value in headers if name.lower() == "content-type")
    return status, content_type, json.loads(body)


@pytest.mark.parametrize(
    "baseline",
    [baselines.bare, baselines.flask_app, baselines.flask_same_work, baselines.chalice_via_shim],
    ids=["bare", "flask", "flask-same-work", "chalice-hello"],
)
def test_each_baseline_answers_health_as_our_app_does(baseline: WsgiApp) -> None:
    assert (
        get_health(baseline)
        == get_health(application)
        == (200, "application/json", {"status": "ok"})
    )


@pytest.mark.parametrize("origin", ["http://localhost:5173", "https://elsewhere.example"])
def test_the_same_work_flask_peer_sends_the_headers_our_app_sends(origin: str) -> None:
    # Like for like: the same request id rule, CORS answer and security headers.
    ours = dict(health_answer(application, origin=origin, x_request_id="same-1")[1])
    peer = dict(health_answer(baselines.flask_same_work, origin=origin, x_request_id="same-1")[1])
    ours.pop("Content-Length")
    peer.pop("Content-Length")
    assert peer == ours
