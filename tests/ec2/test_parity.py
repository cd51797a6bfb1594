"""The shim answers as API Gateway's REST proxy integration and Lambda would.

The references: AWS SAM's sample proxy event (``AwsProxy.json`` beside this
file, copied from aws/aws-sam-cli ``samcli/lib/generated_sample_events/events/
apigateway/AwsProxy.json`` at fe8f8dbb), SAM's ``construct_v1_event``, the
smoke tests Chalice runs on a real API Gateway (aws/chalice
``tests/aws/test_features.py``, whose app ``tests/ec2/plain.py`` follows) and
AWS's documentation of the proxy integration, the gateway responses and the
Lambda quotas.

Each check runs on a plain Chalice app through the shim called in-process and
through the real app server, granian (what WSGI servers change: header spelling, repeats,
the raw path), and, where Snapboard answers for itself, on our app on both of
its runtimes.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes
from wsgiref.util import setup_testing_defaults

import pytest

from chalicelib.composition import Clients
from ec2.shim import Shim, ShimConfig
from tests.conftest import ROOT
from tests.ec2 import plain, probe
from tests.ec2.plain import API_KEY
from tests.support import Http, call_wsgi, free_port, wait_until_serving

SAMPLE = json.loads((Path(__file__).with_name("AwsProxy.json")).read_text())
# In every real event and in construct_v1_event, though not in the sample.
DOCUMENTED_CONTEXT_KEYS = {"domainName", "domainPrefix", "extendedRequestId"}
MIB = 1024 * 1024
BROWSER_ACCEPT = "text/html,application/xhtml+xml;q=0.9,image/webp,*/*;q=0.8"
CHALICE_ALLOW_HEADERS = "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"

# ------------------------------------------------------------------ transports


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = self.json["event"]
        return event


Send = Callable[..., Answer]


def in_process(shim: Shim) -> Send:
    """Called as gunicorn calls it, ``RAW_URI`` included."""

    def send(
        method: str, target: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> Answer:
        path, _, query = target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "RAW_URI": target,
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(body),
        }
        headers = list(headers)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", "127.0.0.1:18800"))
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                key = f"HTTP_{key}"
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        setup_testing_defaults(environ)
        return Answer(*call_wsgi(shim, environ))

    return send


def over_http(base: str) -> Send:
    host, port = base.removeprefix("http://").split(":")

    def send(
        method: str, target: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> Answer:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = list(headers)
        named_host = any(name.lower() == "host" for name, _ in headers)
        try:
            connection.putrequest(method, target, skip_host=named_host, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            if not any(name.lower() == "content-length" for name, _ in headers):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            return Answer(response.status, response.getheaders(), response.read())
        finally:
            connection.close()

    return send


@pytest.fixture(scope="module")
def served_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The production app server (ec2/server.py), one worker; no database, so nothing seeded."""
    port = free_port()
    log = tmp_path_factory.mktemp("parity") / "server.log"
    command = [sys.executable, "-m", "ec2.server", "tests.ec2.plain:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1"]
    # A MongoDB address (never dialled: the plain app has no database) skips the embedded store.
    env = os.environ | {"MONGODB_URI": "mongodb://127.0.0.1:9"}
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/", server, "the app server")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{log.read_text()}") from None
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(params=["in-process", "server"])
def send(request: pytest.FixtureRequest) -> Send:
    if request.param == "server":
        return over_http(request.getfixturevalue("served_plain"))
    return in_process(plain.serve())


@pytest.fixture
def server_send(served_plain: str) -> Send:
    return over_http(served_plain)


def gateway_error(answer: Answer, status: int, message: str) -> bool:
    return (
        answer.status == status
        and answer.header("Content-Type") == "application/json"
        and answer.json == {"message": message}
    )


# -------------------------------------------------------- 8. the event itself


def assert_shaped_like_the_sample(event: dict[str, Any]) -> None:
    assert set(event) == set(SAMPLE)
    context, sample_context = event["requestContext"], SAMPLE["requestContext"]
    assert set(context) == set(sample_context) | DOCUMENTED_CONTEXT_KEYS
    assert set(context["identity"]) == set(sample_context["identity"])
    assert re.fullmatch(r"\d{12}", context["accountId"])  # the sample's is a placeholder
    for key in ("apiId", "resourceId"):
        assert re.fullmatch(r"[0-9a-z]+", context[key]), key
        assert len(context[key]) == len(sample_context[key]), key
    assert isinstance(context["requestTimeEpoch"], int)
    shape = "%d/%b/%Y:%H:%M:%S %z"  # the sample's: 09/Apr/2015:12:34:56 +0000
    datetime.strptime(sample_context["requestTime"], shape)
    written = datetime.strptime(context["requestTime"], shape).timestamp()
    assert written == context["requestTimeEpoch"] // 1000
    assert context["extendedRequestId"]
    for name in ("X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"):
        assert name in SAMPLE["headers"]
        assert event["multiValueHeaders"][name] == [event["headers"][name]]


def test_the_event_has_exactly_the_keys_of_api_gateways_sample_event(send: Send) -> None:
    before = int(time.time() * 1000)
    event = send("GET", "/echo?foo=bar", [("User-Agent", "Custom User Agent String")]).event
    after = int(time.time() * 1000)
    assert_shaped_like_the_sample(event)
    context = event["requestContext"]
    assert before <= context["requestTimeEpoch"] <= after
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/echo", "/echo", "GET")
    assert event["multiValueQueryStringParameters"] == SAMPLE["multiValueQueryStringParameters"]
    assert context["path"] == "/api/echo", "requestContext.path carries the stage"
    assert (context["stage"], context["resourcePath"]) == ("api", "/echo")
    assert context["domainName"] == "127.0.0.1", "no port, as in the Host API Gateway names"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "Custom User Agent String"
    assert context["protocol"] == SAMPLE["requestContext"]["protocol"]
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["Host"].endswith(":" + event["headers"]["X-Forwarded-Port"])


def test_our_app_gets_the_same_event(svc: Clients) -> None:
    send = in_process(Shim(probe.app, ShimConfig.load({})))
    assert_shaped_like_the_sample(send("GET", "/echo").event)


def test_behind_a_tls_proxy_the_forwarded_proto_and_its_port_reach_the_app(send: Send) -> None:
    headers = [("Host", "snap.example"), ("X-Forwarded-Proto", "https")]
    event = send("GET", "/echo", headers).event
    assert event["headers"]["X-Forwarded-Proto"] == "https"
    assert event["headers"]["X-Forwarded-Port"] == "443"
    assert event["requestContext"]["domainName"] == "snap.example"
    assert event["requestContext"]["domainPrefix"] == "snap"


def test_each_request_has_its_own_ids_and_the_resource_its_stable_one(send: Send) -> None:
    first, second = (send("GET", "/echo").event["requestContext"] for _ in range(2))
    assert first["requestId"] != second["requestId"]
    assert first["extendedRequestId"] != second["extendedRequestId"]
    assert (first["resourceId"], first["apiId"]) == (second["resourceId"], second["apiId"])
    assert send("GET", "/echo/x").status == 200


# ------------------------------------------------------ 1. greedy path params


def test_a_greedy_path_parameter_is_named_proxy_as_in_the_sample(send: Send) -> None:
    assert "proxy" in SAMPLE["pathParameters"]
    answer = send("GET", "/files/a/b/c.txt")
    assert (answer.status, answer.json) == (200, {"proxy": "a/b/c.txt"})


# ----------------------------------------------------------- 2. Chalice's CORS


def assert_allows_methods(answer: Answer, methods: list[str]) -> None:
    allowed = answer.header("Access-Control-Allow-Methods")
    assert allowed is not None
    assert sorted(allowed.split(",")) == sorted(methods)


def test_a_cors_route_answers_its_preflight_with_chalices_headers(send: Send) -> None:
    assert send("GET", "/cors").header("Access-Control-Allow-Origin") == "*"
    answer = send("OPTIONS", "/cors", [("Origin", "https://a.example")])
    assert answer.status == 200
    assert answer.header("Access-Control-Allow-Origin") == "*"
    assert answer.header("Access-Control-Allow-Headers") == CHALICE_ALLOW_HEADERS
    assert_allows_methods(answer, ["GET", "POST", "PUT", "OPTIONS"])


def test_a_custom_cors_config_answers_its_preflight_with_all_its_headers(send: Send) -> None:
    answer = send("OPTIONS", "/custom_cors")
    assert answer.status == 200
    assert answer.header("Access-Control-Allow-Origin") == "https://foo.example.com"
    assert answer.header("Access-Control-Allow-Headers") == (
        CHALICE_ALLOW_HEADERS + ",X-Special-Header"
    )
    assert_allows_methods(answer, ["GET", "POST", "PUT", "OPTIONS"])
    assert answer.header("Access-Control-Max-Age") == "600"
    assert answer.header("Access-Control-Expose-Headers") == "X-Special-Header"
    assert answer.header("Access-Control-Allow-Credentials") == "true"


def test_a_route_without_cors_has_no_options_method(send: Send) -> None:
    assert gateway_error(send("OPTIONS", "/echo"), 403, "Missing Authentication Token")


def test_our_preflights_are_answered_by_our_middleware_on_both_runtimes(
    serve: Callable[[Clients | None], Http], svc: Clients
) -> None:
    reply = serve(svc).options(
        "/health",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert reply.status < 300
    assert "access-control-allow-origin" not in reply.headers


# -------------------------------------------------------------- 3. API keys


def test_a_route_that_requires_an_api_key_is_forbidden_without_a_valid_one(send: Send) -> None:
    assert gateway_error(send("GET", "/api-key-required"), 403, "Forbidden")
    wrong = send("GET", "/api-key-required", [("x-api-key", "guess")])
    assert gateway_error(wrong, 403, "Forbidden")
    right = send("GET", "/api-key-required", [("x-api-key", API_KEY)])
    assert (right.status, right.json) == (200, {"success": True})


def test_an_app_with_api_key_routes_does_not_start_without_api_keys() -> None:
    with pytest.raises(ValueError, match="API_KEYS"):
        Shim(plain.plain, ShimConfig.load({}))


def test_the_api_keys_stay_out_of_the_configs_repr() -> None:
    assert API_KEY not in repr(ShimConfig.load({"API_KEYS": API_KEY}))


# ---------------------------------------------------------- 4. binary answers


def test_binary_round_trips_when_accept_names_a_binary_type(send: Send) -> None:
    data = b"\xde\xad\xbe\xef"
    kind = [("Content-Type", "application/octet-stream"), ("Accept", "application/octet-stream")]
    answer = send("POST", "/binary", kind, data)
    assert (answer.status, answer.body) == (200, data)


@pytest.mark.parametrize(
    ("accept", "body"),
    [
        ("application/octet-stream", b"\xde\xad\xbe\xef"),
        ("image/png, text/html", b"\xde\xad\xbe\xef"),
        (BROWSER_ACCEPT, b"3q2+7w=="),  # test_can_return_default_binary_data_to_a_browser
        ("text/plain, application/octet-stream", b"3q2+7w=="),
    ],
)
def test_an_answer_is_binary_only_when_the_first_accepted_type_is_binary(
    send: Send, accept: str, body: bytes
) -> None:
    answer = send("GET", "/get-binary", [("Accept", accept)])
    assert (answer.status, answer.body) == (200, body)


# ------------------------------------------------------------------ 5. limits


def test_a_binary_body_is_limited_by_its_base64_size_in_the_event(send: Send) -> None:
    fits = send("POST", "/upload", [("Content-Type", "image/png")], b"\x89" * (4 * MIB))
    assert (fits.status, fits.json) == (200, {"received": 4 * MIB})
    # A 5 MiB image is 6.7 MB of base64: Lambda never sees it, and the answer comes
    # before the body is sent (headers only here, or the server would hang up mid-body).
    declared = [("Content-Type", "image/png"), ("Content-Length", str(5 * MIB))]
    assert gateway_error(send("POST", "/upload", declared), 413, "Request Too Long")


def test_a_text_body_is_limited_by_the_size_of_the_whole_event(send: Send) -> None:
    fits = send("POST", "/upload", [("Content-Type", "text/plain")], b"x" * (6 * MIB - 8192))
    assert (fits.status, fits.json) == (200, {"received": 6 * MIB - 8192})
    # Under 6 MiB itself, but not with the headers, the context and its escapes.
    escaped = b"\\" * (4 * MIB)
    assert gateway_error(
        send("POST", "/upload", [("Content-Type", "text/plain")], escaped), 413, "Request Too Long"
    )


def test_an_answer_over_lambdas_limit_is_a_502(send: Send) -> None:
    assert send("GET", "/big?bytes=6000000").status == 200
    assert gateway_error(send("GET", "/big?bytes=6291556"), 502, "Internal server error")


def test_our_limit_leaves_room_for_the_event_so_our_413_comes_on_both_runtimes(
    serve: Callable[[Clients | None], Http], svc: Clients
) -> None:
    from chalicelib import wire

    # The worst case: a binary body, base64 in the event, with headers at API Gateway's 10 KiB.
    assert 4 * -(-wire.MAX_BODY_BYTES // 3) + 2 * 10 * 1024 < 6 * MIB
    reply = serve(svc).post(
        "/health", body=b"x" * (wire.MAX_BODY_BYTES + 1), headers={"Content-Type": "image/png"}
    )
    assert reply.status == 413
    assert reply.problem["code"] == "payload_too_large"


# ---------------------------------------------------------------- 6. timeout


def test_a_timeout_is_a_function_error_answered_502() -> None:
    # Where the request runs on the main thread (in-process here, a sync server) the
    # shim's signal stops it. The EC2 server runs requests on threads no signal reaches:
    # there nginx bounds them (tests/ec2/test_nginx.py, the Lambda timeout as a 504 problem).
    send = in_process(plain.serve())
    assert gateway_error(send("GET", "/slow"), 502, "Internal server error")
    assert send("GET", "/echo").status == 200


# ------------------------------------------------------- 7. request headers


def test_an_encoded_slash_stays_in_its_segment() -> None:
    # With the raw target a server passes (gunicorn's RAW_URI, uWSGI's REQUEST_URI).
    answer = in_process(plain.serve())("GET", "/echo/a%2Fb")
    assert (answer.status, answer.json) == (200, {"value": "a%2Fb"})


def test_under_the_app_server_an_encoded_slash_splits_its_segment(server_send: Send) -> None:
    # Documented limit: granian passes only the decoded PATH_INFO, so `a%2Fb` arrives as
    # two segments. No Snapboard path parameter can hold a slash (ids, usernames).
    answer = server_send("GET", "/echo/a%2Fb")
    assert gateway_error(answer, 403, "Missing Authentication Token")


def test_repeated_headers_arrive_as_the_wsgi_server_joined_them(server_send: Send) -> None:
    # Documented limit: the server joins repeats with "," before the shim sees them.
    event = server_send("GET", "/echo", [("X-Dup", "a"), ("X-Dup", "b")]).event
    assert event["headers"]["X-Dup"] == "a,b"
    assert event["multiValueHeaders"]["X-Dup"] == ["a,b"]


def test_header_names_arrive_title_cased(server_send: Send) -> None:
    # Documented limit: WSGI keeps no spelling (HTTP_X_CUSTOM_NAME).
    event = server_send("GET", "/echo", [("x-custom-NAME", "1")]).event
    assert event["headers"]["X-Custom-Name"] == "1"


# --------------------------------------------------- 9. unknown routes, methods


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nope"), ("GET", "/no/such/thing"), ("POST", "/get-binary")]
)
def test_another_apps_unknown_routes_get_api_gateways_403(
    send: Send, method: str, path: str
) -> None:
    assert gateway_error(send(method, path), 403, "Missing Authentication Token")


def test_our_unknown_routes_and_methods_get_our_problems_on_both_runtimes(
    serve: Callable[[Clients | None], Http], svc: Clients
) -> None:
    client = serve(svc)
    # One segment: Chalice's local gateway (the Lambda runtime here) matches no deeper.
    assert client.get("/no-such-thing").problem["code"] == "not_found"
    reply = client.delete("/health")
    assert (reply.status, reply.problem["code"]) == (405, "method_not_allowed")
