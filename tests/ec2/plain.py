"""A plain Chalice app for the parity suite (``tests/ec2/test_parity.py``).

It follows the app of Chalice's own smoke tests on a real API Gateway (aws/chalice
``tests/aws/testapp/app.py``) and imports nothing of Snapboard's but the shim, so
the app server starts it quickly: ``tests.ec2.plain:application``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from chalice.app import Chalice, CORSConfig, Response

from ec2.shim import Shim, ShimConfig

API_KEY = "parity-test-key"

plain = Chalice("plain")


@plain.route("/echo", methods=["GET", "POST"], content_types=["application/json", "text/plain"])
def echo() -> dict[str, Any]:
    request = plain.current_request
    assert request is not None
    return {"event": request.to_original_event()}


@plain.route("/echo/{value}")
def echo_value(value: str) -> dict[str, Any]:
    return {"value": value}


@plain.route("/files/{proxy+}")
def files() -> dict[str, Any]:
    request = plain.current_request
    assert request is not None
    assert request.uri_params is not None
    return {"proxy": request.uri_params["proxy"]}


@plain.route("/cors", methods=["GET", "POST", "PUT"], cors=True)
def supports_cors() -> dict[str, bool]:
    return {"cors": True}


@plain.route(
    "/custom_cors",
    methods=["GET", "POST", "PUT"],
    cors=CORSConfig(
        allow_origin="https://foo.example.com",
        allow_headers=["X-Special-Header"],
        max_age=600,
        expose_headers=["X-Special-Header"],
        allow_credentials=True,
    ),
)
def supports_custom_cors() -> dict[str, bool]:
    return {"cors": True}


@plain.route("/api-key-required", api_key_required=True)
def api_key_required() -> dict[str, bool]:
    return {"success": True}


@plain.route("/binary", methods=["POST"], content_types=["application/octet-stream"])
def binary_round_trip() -> Response:
    request = plain.current_request
    assert request is not None
    return Response(request.raw_body, headers={"Content-Type": "application/octet-stream"})


@plain.route("/get-binary")
def binary_response() -> Response:
    return Response(b"\xde\xad\xbe\xef", headers={"Content-Type": "application/octet-stream"})


@plain.route("/upload", methods=["POST"], content_types=["image/png", "text/plain"])
def upload() -> dict[str, int]:
    request = plain.current_request
    assert request is not None
    return {"received": len(request.raw_body)}


@plain.route("/big")
def big() -> Response:
    request = plain.current_request
    assert request is not None
    assert request.query_params is not None
    size = int(request.query_params["bytes"])
    return Response("x" * size, headers={"Content-Type": "text/plain"})


@plain.route("/slow")
def slow() -> dict[str, str]:
    try:
        time.sleep(5)
    except Exception:
        return {"swallowed": "yes"}
    return {"slept": "yes"}


def serve() -> Shim:
    """The plain app as the suite serves it: its API key, a short Lambda timeout."""
    config = ShimConfig.load({"API_KEYS": API_KEY})
    return Shim(plain, replace(config, timeout_s=0.5))


application = serve()
