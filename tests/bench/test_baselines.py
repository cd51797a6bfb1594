"""The baselines answer what our /health answers, so the ratios compare like with like."""

from __future__ import annotations

import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from bench import baselines
from ec2.wsgi import application
from tests.support import WsgiApp, call_wsgi


def get_health(app: WsgiApp) -> tuple[int, str, Any]:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO="/health", REQUEST_METHOD="GET", REMOTE_ADDR="127.0.0.1")
    status, headers, body = call_wsgi(app, environ)
    content_type = next(value for name, value in headers if name.lower() == "content-type")
    return status, content_type, json.loads(body)


@pytest.mark.parametrize(
    "baseline",
    [baselines.bare, baselines.flask_app, baselines.chalice_via_shim],
    ids=["bare", "flask", "chalice-hello"],
)
def test_each_baseline_answers_health_as_our_app_does(baseline: WsgiApp) -> None:
    assert (
        get_health(baseline)
        == get_health(application)
        == (200, "application/json", {"status": "ok"})
    )
