"""The route wrapper and fallbacks, on a probe app with routes made for the purpose."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from chalice.app import Request
from chalice.config import Config
from chalice.local import LocalDevServer
from pydantic import BaseModel, ConfigDict, Field

from chalicelib import errors, wire
from chalicelib.composition import Clients
from chalicelib.principal import Principal
from chalicelib.routing import Answer, Api, Context, Router, no_authenticator
from tests.conftest import chalice_transport
from tests.support import Http

router = Router(__name__, tag="probe")


class ThingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=20)
    size: int = Field(ge=1)


class ThingOut(BaseModel):
    id: str
    name: str
    size: int


class ThingQuery(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    tag: str | None = None


@router.route("/things", "POST", body=ThingIn, response=ThingOut, status=201)
def create_thing(ctx: Context, *, body: ThingIn) -> Any:
    """Create a thing."""
    thing = ThingOut(id="t1", **body.model_dump())
    return Answer(thing, headers={"Location": "/things/t1"})


@router.route("/things", query=ThingQuery)
def list_things(ctx: Context, *, query: ThingQuery) -> dict[str, Any]:
    """List things."""
    return {"limit": query.limit, "tag": query.tag}


@router.route("/things/{thing_id}", response=ThingOut, errors=[404])
def get_thing(ctx: Context, thing_id: str) -> ThingOut:
    """Read a thing."""
    if thing_id != "t1":
        raise errors.NotFound(f"No thing {thing_id}.")
    return ThingOut(id=thing_id, name="one", size=1)


@router.route("/things/{thing_id}", "DELETE", status=204)
def delete_thing(ctx: Context, thing_id: str) -> None:
    """Delete a thing."""


@router.route("/signals", "POST", status=204)
def signal(ctx: Context) -> None:
    """Accept a signal: a path with no GET."""


@router.route("/boom")
def boom(ctx: Context) -> None:
    """Fail the way a bug does."""
    raise RuntimeError("database password is hunter2")


@router.route("/echo")
def echo(ctx: Context) -> dict[str, Any]:
    """Answer with what this thread sees as its request, after letting others run."""
    assert ctx.api.current_request is not None
    time.sleep(0.02)
    request = ctx.api.current_request
    return {
        "probe": request.headers.get("x-probe"),
        "context": ctx.api.lambda_context.aws_request_id,
    }


def make_app() -> Api:
    from chalicelib import middleware

    app = Api("probe")
    app.register_middleware(middleware.build(origin_policy=lambda: None), "http")
    app.include(router)
    app.install_fallbacks()
    return app


probe_app = make_app()


@pytest.fixture
def probe(svc: Clients) -> Http:
    return Http(chalice_transport(probe_app))


def test_a_valid_body_reaches_the_view(probe: Http) -> None:
    reply = probe.post("/things", json={"name": "lamp", "size": 2})
    assert reply.status == 201
    assert reply.json == {"id": "t1", "name": "lamp", "size": 2}
    assert reply.headers["location"] == "/things/t1"


def test_every_failing_field_is_listed_in_a_422(probe: Http) -> None:
    reply = probe.post("/things", json={"name": "", "size": 0, "colour": "red"})
    assert reply.status == 422
    fields = {e["field"] for e in reply.problem["errors"]}
    assert fields == {"name", "size", "colour"}


def test_an_operator_object_where_a_string_belongs_is_a_422(probe: Http) -> None:
    reply = probe.post("/things", json={"name": {"$gt": ""}, "size": 1})
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == "name"


def test_malformed_json_is_a_400_problem(probe: Http) -> None:
    reply = probe.post(
        "/things", body='{"name": "lamp",', headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400
    assert reply.problem["code"] == "malformed_json"


def test_a_wrong_content_type_is_a_415_problem(probe: Http) -> None:
    reply = probe.post("/things", body="name=lamp", headers={"Content-Type": "text/plain"})
    assert reply.status == 415
    assert "text/plain" in reply.problem["detail"]


def test_query_parameters_are_validated(probe: Http) -> None:
    assert probe.get("/things?limit=5&tag=x").json == {"limit": 5, "tag": "x"}
    reply = probe.get("/things?limit=500")
    assert reply.status == 422
    assert reply.problem["errors"][0]["field"] == "limit"


def test_a_domain_error_becomes_its_problem(probe: Http) -> None:
    reply = probe.get("/things/t9")
    assert reply.status == 404
    assert reply.problem["detail"] == "No thing t9."


def test_a_view_returning_none_answers_204(probe: Http) -> None:
    reply = probe.delete("/things/t1")
    assert reply.status == 204
    assert reply.body == b""


def test_an_unexpected_exception_is_a_500_without_internals(probe: Http) -> None:
    reply = probe.get("/boom")
    assert reply.status == 500
    assert reply.problem["code"] == "internal"
    assert b"hunter2" not in reply.body
    assert b"Traceback" not in reply.body


def test_a_method_the_path_does_not_have_is_a_405_with_allow(probe: Http) -> None:
    reply = probe.put("/things/t1")
    assert reply.status == 405
    assert reply.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert reply.problem["code"] == "method_not_allowed"


def test_an_unknown_path_is_a_404_problem(probe: Http) -> None:
    reply = probe.get("/nothing-here")
    assert reply.status == 404
    assert reply.problem["code"] == "not_found"


def test_options_on_a_known_path_answers_204_with_allow(probe: Http) -> None:
    reply = probe.options("/things")
    assert reply.status == 204
    assert reply.headers["allow"] == "GET, HEAD, OPTIONS, POST"


# ------------------------------------------------------------ HEAD, TRACE, others


@pytest.fixture(params=["lambda", "wsgi"])
def probe_runtime(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def probe_on(probe_runtime: str, svc: Clients) -> Http:
    """The probe app through Chalice's gateway emulation (Lambda) and the EC2 shim."""
    from tests.conftest import TRANSPORTS

    return Http(TRANSPORTS[probe_runtime](probe_app))


@pytest.mark.parametrize("path", ["/things/t1", "/things/t9", "/things?limit=500", "/boom"])
def test_head_answers_like_get_without_the_content(probe_on: Http, path: str) -> None:
    got = probe_on.get(path)
    head = probe_on.request("HEAD", path)
    assert head.status == got.status
    assert head.body == b""
    ignored = {"x-request-id", "content-length"}
    assert {k: v for k, v in head.headers.items() if k not in ignored} == {
        k: v for k, v in got.headers.items() if k not in ignored
    }


def test_head_states_the_length_of_the_get_on_the_shim() -> None:
    from tests.conftest import wsgi_transport

    shim = Http(wsgi_transport(probe_app))
    got = shim.get("/things/t1")
    head = shim.request("HEAD", "/things/t1")
    assert head.headers["content-length"] == str(len(got.body)) != "0"


def test_head_is_in_the_allow_of_every_get_path_and_refused_elsewhere(probe_on: Http) -> None:
    assert probe_on.options("/things/t1").headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert probe_on.request("HEAD", "/things").status == 200
    refused = probe_on.request("HEAD", "/signals")
    assert refused.status == 405
    assert refused.headers["allow"] == "OPTIONS, POST"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "QUERY", "PROPFIND", "BREW"])
def test_a_method_no_route_serves_is_a_405_with_the_paths_allow(
    probe_on: Http, probe_runtime: str, method: str
) -> None:
    reply = probe_on.request(method, "/things/t1")
    if probe_runtime == "wsgi":
        # No route can declare these, so they never reach the app: API Gateway answers
        # them itself, and the EC2 shim plays it (nginx in front answers TRACE first).
        assert (reply.status, reply.json) == (403, {"message": "Missing Authentication Token"})
        return
    assert reply.status == 405
    assert reply.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert reply.problem["code"] == "method_not_allowed"


def test_trace_on_an_unknown_path_is_a_404(probe_on: Http, probe_runtime: str) -> None:
    expected = 403 if probe_runtime == "wsgi" else 404  # see above
    assert probe_on.request("TRACE", "/nothing-here").status == expected


def test_api_gateway_is_told_every_path_takes_head_and_every_method_chalice_serves() -> None:
    # `chalice package` writes this definition; API Gateway passes on only what it declares.
    from chalice.deploy.swagger import TemplatedSwaggerGenerator

    from app import app

    paths = TemplatedSwaggerGenerator().generate_swagger(app)["paths"]
    expected = {"get", "head", "post", "put", "patch", "delete", "options"}
    assert {path: set(methods) for path, methods in paths.items()} == dict.fromkeys(paths, expected)


def test_a_body_of_450_000_unknown_keys_answers_a_small_422(probe_on: Http) -> None:
    # As wide as fits under the body limit (the finding's 450,000 keys were 5.3 MB).
    wide = json.dumps({f"k{i}": 1 for i in range(390_000)}, separators=(",", ":"))
    assert 4_000_000 < len(wide) < wire.MAX_BODY_BYTES
    reply = probe_on.post("/things", body=wide, headers={"Content-Type": "application/json"})
    assert reply.status == 422
    assert len(reply.problem["errors"]) == 1
    assert len(reply.body) < 1000


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/things/" + "x" * 100_000, {}, 404),  # the view names the id in its detail
        ("GET", "/things?" + "&".join(f"p{i}=1" for i in range(5000)), {}, 422),
        ("GET", "/things?tag=" + "t" * 100_000 + "&limit=0", {}, 422),
        ("POST", "/things", {"Content-Type": "text/" + "x" * 50_000}, 415),
        ("GET", "/things/t9", {f"X-Header-{i}": "v" * 100 for i in range(500)}, 404),
    ],
)
def test_no_error_answer_grows_with_the_request(
    probe_on: Http, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    reply = probe_on.request(method, path, headers=headers, body=b"{}")
    assert reply.status == status
    assert len(reply.body) < 2000


@pytest.fixture
def dev_server(svc: Clients) -> Iterator[str]:
    """The app under Chalice's threaded dev server, as ``chalice local`` runs it."""
    server = LocalDevServer(probe_app, Config.create(lambda_timeout=10), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)


def test_concurrent_requests_each_see_their_own_request_and_context(dev_server: str) -> None:
    def call(n: int) -> dict[str, Any]:
        request = urllib.request.Request(f"{dev_server}/echo", headers={"X-Probe": str(n)})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(call, range(64)))

    assert [a["probe"] for a in answers] == [str(n) for n in range(64)]
    assert len({a["context"] for a in answers}) == 64


def test_head_under_the_dev_server_sends_no_content(dev_server: str) -> None:
    request = urllib.request.Request(f"{dev_server}/things/t1", method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.read() == b""
        assert response.headers["Content-Type"] == "application/json"


# ------------------------------------------------------------------ authorization

auth_router = Router(__name__ + ".auth", tag="probe")


@auth_router.route("/whoami", auth="optional")
def whoami(ctx: Context, *, user: Principal | None) -> dict[str, Any]:
    """Who is calling, if anyone."""
    return {"user": None if user is None else user.username}


@auth_router.route("/mine", auth="user")
def mine(ctx: Context, *, user: Principal) -> dict[str, Any]:
    """Something for signed-in users."""
    return {"user": user.username}


@auth_router.route("/publish", "POST", auth="verified", body=ThingIn)
def publish(ctx: Context, *, user: Principal, body: ThingIn) -> dict[str, Any]:
    """Something for verified users."""
    return {"user": user.username, "name": body.name}


@auth_router.route("/admin-only", auth="admin")
def admin_only(ctx: Context, *, user: Principal) -> dict[str, Any]:
    """Something for administrators."""
    return {"user": user.username}


PEOPLE = {
    "unverified": Principal("u1", "una", frozenset({"user"}), email_verified=False),
    "verified": Principal("u2", "vera", frozenset({"user"}), email_verified=True),
    "admin": Principal("u3", "ada", frozenset({"user", "admin"}), email_verified=True),
}


def token_authenticator(ctx: Context) -> Principal | None:
    header = ctx.request.headers.get("authorization")
    if header is None:
        return None
    who = header.removeprefix("Bearer ")
    if who not in PEOPLE:
        raise errors.Unauthenticated("Bad token.", code="invalid_token")
    return PEOPLE[who]


auth_app = Api("probe-auth")
auth_app.include(auth_router)
auth_app.install_fallbacks()
auth_app.authenticator = token_authenticator


@pytest.fixture
def auth_probe(svc: Clients) -> Http:
    return Http(chalice_transport(auth_app))


@pytest.mark.parametrize(
    ("method", "path", "anonymous", "unverified", "verified", "admin"),
    [
        ("GET", "/whoami", 200, 200, 200, 200),
        ("GET", "/mine", 401, 200, 200, 200),
        ("POST", "/publish", 401, 403, 200, 200),
        ("GET", "/admin-only", 401, 403, 403, 200),
    ],
)
def test_each_auth_level_admits_exactly_its_callers(
    auth_probe: Http,
    method: str,
    path: str,
    anonymous: int,
    unverified: int,
    verified: int,
    admin: int,
) -> None:
    expected = {None: anonymous, "unverified": unverified, "verified": verified, "admin": admin}
    for who, status in expected.items():
        headers = {} if who is None else {"Authorization": f"Bearer {who}"}
        reply = auth_probe.request(method, path, json={"name": "x", "size": 1}, headers=headers)
        assert reply.status == status, (who, path, reply.body)


def test_an_unauthenticated_caller_is_told_to_use_a_bearer_token(auth_probe: Http) -> None:
    reply = auth_probe.get("/mine")
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.problem["code"] == "unauthenticated"


def test_a_bad_token_is_rejected_even_where_sign_in_is_optional(auth_probe: Http) -> None:
    reply = auth_probe.get("/whoami", headers={"Authorization": "Bearer forged"})
    assert reply.status == 401
    assert reply.problem["code"] == "invalid_token"


def test_an_unverified_user_gets_a_clear_code(auth_probe: Http) -> None:
    reply = auth_probe.post(
        "/publish", json={"name": "x", "size": 1}, headers={"Authorization": "Bearer unverified"}
    )
    assert reply.problem["code"] == "email_not_verified"


def test_authentication_is_checked_before_the_body(auth_probe: Http) -> None:
    assert auth_probe.post("/publish", json={"bad": True}).status == 401


def test_without_an_authenticator_nobody_is_signed_in_and_tokens_are_refused() -> None:
    def request(headers: dict[str, str]) -> Context:
        return Context(
            Request(
                {
                    "multiValueQueryStringParameters": None,
                    "headers": headers,
                    "pathParameters": {},
                    "requestContext": {"httpMethod": "GET", "resourcePath": "/", "path": "/"},
                    "body": None,
                    "stageVariables": {},
                }
            ),
            Api("probe-none"),
        )

    assert no_authenticator(request({})) is None
    with pytest.raises(errors.Unauthenticated):
        no_authenticator(request({"authorization": "Bearer x"}))


def test_auth_routes_document_their_security_and_errors() -> None:
    from chalicelib.openapi import build_document

    document = build_document(auth_app.specs, title="probe")
    assert document["paths"]["/whoami"]["get"]["security"] == [{}, {"bearer": []}]
    publish_op = document["paths"]["/publish"]["post"]
    assert publish_op["security"] == [{"bearer": []}]
    assert {"401", "403", "422"} <= set(publish_op["responses"])


def test_every_model_a_route_of_the_app_names_exists_and_is_a_model() -> None:
    from app import app

    named = []
    for spec in app.specs:
        for model in (spec.body, spec.query, spec.response, *spec.raw_body_forms.values()):
            if model is not None:
                named.append(model)
                assert issubclass(model, BaseModel), (spec.method, spec.path, model)
    assert len(named) > len(app.specs) / 2  # most routes declare some


def test_a_model_named_in_another_module_is_found_there() -> None:
    names = Router("tests.elsewhere.routes", tag="t", models="tests.test_routing")
    names.route("/a", "POST", body="ThingIn", response="chalicelib.system.models:Health")(
        lambda ctx, body: None
    )
    [spec] = names.specs
    from chalicelib.system.models import Health

    assert spec.body is ThingIn
    assert spec.response is Health
