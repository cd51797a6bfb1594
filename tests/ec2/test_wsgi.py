"""The entry point the app server serves: our app behind the shim, as a server sees it."""

from __future__ import annotations

from typing import Any
from wsgiref.util import setup_testing_defaults

from app import app
from ec2.shim import Shim
from ec2.wsgi import application
from tests.support import call_wsgi


def test_the_entry_point_is_the_shim_around_our_app() -> None:
    assert isinstance(application, Shim)
    assert application.app is app


def test_every_answer_states_its_content_length() -> None:
    for path in ("/health", "/no/such/thing"):
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        environ.update(PATH_INFO=path, REQUEST_METHOD="GET", REMOTE_ADDR="127.0.0.1")
        _, headers, body = call_wsgi(application, environ)
        lengths = [value for name, value in headers if name.lower() == "content-length"]
        assert lengths == [str(len(body))]
