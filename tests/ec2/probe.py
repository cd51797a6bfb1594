"""A small app for the shim's own tests: it answers with what its view was given.

The app server serves it as ``tests.ec2.probe:application`` in the concurrency test.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib import middleware
from chalicelib.routing import Answer, Api, Context, Router
from ec2.shim import Shim, ShimConfig

router = Router(__name__, tag="probe")


@router.route("/echo", "POST")
@router.route("/echo")
def echo(ctx: Context) -> dict[str, Any]:
    """What this thread sees as its request and Lambda context, after letting others run."""
    time.sleep(0.02)
    request = ctx.request
    context = ctx.api.lambda_context
    current = ctx.api.current_request
    assert current is not None
    return {
        "probe": current.headers.get("x-probe"),
        "request_id": context.aws_request_id,
        "event": request.to_original_event(),
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


@router.route("/things/{thing_id}")
def thing(ctx: Context, thing_id: str) -> dict[str, str]:
    """A path parameter, as the view receives it."""
    return {"thing_id": thing_id}


@router.route("/things/special")
def special_thing(ctx: Context) -> dict[str, str]:
    """A literal path beside a parameter."""
    return {"thing_id": "special"}


@router.route("/slow")
def slow(ctx: Context) -> dict[str, str]:
    """Outlive any short timeout, even trying to catch what interrupts it."""
    try:
        time.sleep(5)
    except Exception:
        return {"swallowed": "yes"}
    return {"slept": "yes"}


@router.route("/cookies")
def cookies(ctx: Context) -> Answer:
    """Two headers of the same name."""
    return Answer(headers={"Set-Cookie": ["a=1", "b=2"]}, status=204)


def make_app() -> Api:
    app = Api("probe")
    app.api.binary_types.append("multipart/form-data")
    app.register_middleware(middleware.build(origin_policy=lambda: None), "http")
    app.include(router)
    app.install_fallbacks()
    return app


app = make_app()
application = Shim(app, ShimConfig.load({}))
