"""The WSGI shim: the event it builds, the limits it imposes, the answers it returns."""

from __future__ import annotations

import base64
import io
import json
import signal
from dataclasses import replace
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from chalice.app import Chalice, Response

from chalicelib.composition import Clients
from chalicelib.routing import Api
from ec2.shim import RouteTable, Shim, ShimConfig
from tests.conftest import ROOT, wsgi_transport
from tests.ec2 import probe
from tests.support import Http, call_wsgi

CONFIG = ShimConfig.load({})


class Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


def environ_for(
    method: str = "GET",
    path: str = "/echo",
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    peer: str = "127.0.0.1",
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": peer,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    return environ


@pytest.fixture
def shim(svc: Clients) -> Shim:
    return Shim(probe.app, CONFIG)


def event_of(shim: Shim, environ: dict[str, Any]) -> dict[str, Any]:
    status, _, body = call_wsgi(shim, environ)
    assert status == 200, body
    event: dict[str, Any] = json.loads(body)["event"]
    return event


# ------------------------------------------------------------------- the event


def test_the_event_is_a_complete_rest_api_proxy_event(shim: Shim) -> None:
    event = event_of(
        shim,
        environ_for(
            path="/echo/",
            query="tag=a&tag=b&empty=",
            headers={"Host": "api.example.com", "User-Agent": "curl/8", "X-Probe": "1"},
        ),
    )
    assert event["resource"] == "/echo"
    assert event["path"] == "/echo/"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["Host"] == "api.example.com"
    assert event["multiValueHeaders"]["X-Probe"] == ["1"]
    assert event["queryStringParameters"] == {"tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "empty": [""]}
    assert event["pathParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "api"
    assert context["resourcePath"] == "/echo"
    assert context["domainName"] == "api.example.com"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "curl/8"
    assert len(context["requestId"]) == 36


def test_the_lambda_context_carries_the_production_function_limits(shim: Shim) -> None:
    status, _, body = call_wsgi(shim, environ_for())
    assert status == 200
    answer = json.loads(body)
    assert answer["request_id"] == answer["event"]["requestContext"]["requestId"]
    assert answer["function_name"] == "snapboard-prod"
    assert answer["memory_limit_in_mb"] == 1024
    assert 0 < answer["remaining_ms"] <= 15_000


def test_the_limits_come_from_the_prod_stage_of_the_chalice_config() -> None:
    assert (CONFIG.stage, CONFIG.timeout_s, CONFIG.memory_mb) == ("api", 15.0, 1024)


def test_a_text_body_is_passed_as_text(shim: Shim) -> None:
    body = '{"name": "l\u00e4mp"}'.encode()
    event = event_of(
        shim,
        environ_for("POST", body=body, headers={"Content-Type": "application/json"}),
    )
    assert event["body"] == '{"name": "l\u00e4mp"}'
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=----x",
        "Multipart/Form-Data;boundary=y",
        "image/png",
        "IMAGE/JPEG",
    ],
)
def test_a_body_of_a_binary_type_is_base64_whatever_its_parameters_and_case(
    shim: Shim, content_type: str
) -> None:
    body = b"\x89PNG\r\n\x00\xff binary"
    event = event_of(shim, environ_for("POST", body=body, headers={"Content-Type": content_type}))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_bytes_that_are_not_utf8_keep_their_value_under_a_text_type(shim: Shim) -> None:
    body = b"caf\xe9"
    event = event_of(shim, environ_for("POST", body=body, headers={"Content-Type": "text/plain"}))
    assert base64.b64decode(event["body"]) == body


# -------------------------------------------------------------- route matching


def test_unknown_paths_of_any_depth_reach_the_greedy_route_as_a_404_problem(
    app: Api,
) -> None:
    client = Http(wsgi_transport(app))
    for path in ("/nope", "/no/such/thing", "/a/b/c/d/e/f"):
        reply = client.get(path)
        assert reply.status == 404, path
        assert reply.problem["code"] == "not_found"


def test_a_known_path_with_another_method_is_a_405_problem_with_allow(svc: Clients) -> None:
    client = Http(wsgi_transport(probe.app))
    reply = client.delete("/echo")
    assert reply.status == 405
    assert reply.problem["code"] == "method_not_allowed"
    assert reply.headers["allow"] == "GET, HEAD, OPTIONS, POST"


@pytest.mark.parametrize(
    ("path", "resource", "params"),
    [
        ("/things/special", "/things/special", {}),
        ("/things/t1", "/things/{thing_id}", {"thing_id": "t1"}),
        ("/things/t1/", "/things/{thing_id}", {"thing_id": "t1"}),
        ("/things/t1/more", "/things/{proxy+}", {"proxy": "t1/more"}),
        ("/things", "/{proxy+}", {"proxy": "things"}),
        ("/x/y/z", "/{proxy+}", {"proxy": "x/y/z"}),
        ("/", "/", {}),
    ],
)
def test_literal_beats_parameter_beats_greedy(
    path: str, resource: str, params: dict[str, str]
) -> None:
    table = RouteTable(
        ["/", "/things/special", "/things/{thing_id}", "/things/{proxy+}", "/{proxy+}"]
    )
    match = table.match(path)
    assert match is not None
    assert (match.resource, match.params) == (resource, params)


@pytest.mark.parametrize("path", ["/", "/things", "/things//x"])
def test_a_parameter_never_matches_an_empty_segment(path: str) -> None:
    assert RouteTable(["/things/{thing_id}", "/things/{proxy+}"]).match(path) is None


def test_a_path_parameter_arrives_percent_encoded_as_on_api_gateway(svc: Clients) -> None:
    reply = Http(wsgi_transport(probe.app)).get("/things/a%20b")
    assert reply.json == {"thing_id": "a%20b"}


def test_an_app_without_a_route_for_the_path_gets_api_gateways_403(svc: Clients) -> None:
    bare = Chalice("bare")
    status, headers, body = call_wsgi(Shim(bare, CONFIG), environ_for(path="/anything"))
    assert status == 403
    assert ("Content-Type", "application/json") in headers
    assert json.loads(body) == {"message": "Missing Authentication Token"}


def test_chalice_authorizers_are_refused_at_start() -> None:
    guarded = Chalice("guarded")

    @guarded.authorizer()
    def gate(_auth_request: Any) -> Any:
        raise AssertionError("never called")

    @guarded.route("/secret", authorizer=gate)
    def secret() -> dict[str, str]:
        return {}

    with pytest.raises(ValueError, match="authorizers"):
        Shim(guarded, CONFIG)


def test_an_answer_without_a_content_type_is_json_as_on_api_gateway() -> None:
    plain = Chalice("plain")

    @plain.route("/plain")
    def answer() -> dict[str, str]:
        return {"a": "b"}

    @plain.route("/typed")
    def typed() -> Response:
        return Response(body="hi", headers={"content-type": "text/plain"})

    status, headers, body = call_wsgi(Shim(plain, CONFIG), environ_for(path="/plain"))
    assert (status, body) == (200, b'{"a":"b"}')
    assert [v for k, v in headers if k.lower() == "content-type"] == ["application/json"]
    _, headers, _ = call_wsgi(Shim(plain, CONFIG), environ_for(path="/typed"))
    assert [v for k, v in headers if k.lower() == "content-type"] == ["text/plain"]


def test_repeated_response_headers_are_sent_one_per_line(shim: Shim) -> None:
    status, headers, _ = call_wsgi(shim, environ_for(path="/cookies"))
    assert status == 204
    assert [v for k, v in headers if k == "Set-Cookie"] == ["a=1", "b=2"]


# ---------------------------------------------------------------------- limits


def declaring(content_length: str) -> dict[str, Any]:
    """A POST that declares a Content-Length and fails the test if its body is read."""
    environ = environ_for("POST", headers={"Content-Type": "application/json"})
    environ["CONTENT_LENGTH"] = content_length
    environ["wsgi.input"] = Unreadable()
    return environ


@pytest.mark.parametrize("declared", [str(6 * 1024 * 1024 + 1), "9" * 5000])
def test_a_declared_body_over_six_mib_is_refused_before_it_is_read(
    shim: Shim, declared: str
) -> None:
    status, headers, body = call_wsgi(shim, declaring(declared))
    assert status == 413
    assert ("Content-Type", "application/json") in headers
    assert json.loads(body) == {"message": "Request Too Long"}


@pytest.mark.parametrize("declared", ["\u00b2", "\u0661\u0662", "12x", "-1"])
def test_a_content_length_that_is_not_ascii_digits_counts_as_absent(
    shim: Shim, declared: str
) -> None:
    assert event_of(shim, declaring(declared))["body"] is None


def test_a_chunked_body_over_six_mib_is_refused(shim: Shim) -> None:
    environ = environ_for("POST", body=b"x" * (6 * 1024 * 1024 + 10))
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    status, _, body = call_wsgi(shim, environ)
    assert status == 413
    assert json.loads(body) == {"message": "Request Too Long"}


def test_a_chunked_body_within_the_limit_reaches_the_app(shim: Shim) -> None:
    environ = environ_for("POST", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    assert event_of(shim, environ)["body"] == '{"a": 1}'


def test_a_request_that_outlives_the_lambda_timeout_is_api_gateways_502(svc: Clients) -> None:
    impatient = Shim(probe.app, replace(CONFIG, timeout_s=0.2))
    status, headers, body = call_wsgi(impatient, environ_for(path="/slow"))
    assert status == 502
    assert ("Content-Type", "application/json") in headers
    assert json.loads(body) == {"message": "Internal server error"}, (
        "the view's `except Exception` must not swallow the timeout"
    )
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "no alarm left armed"
    assert call_wsgi(impatient, environ_for())[0] == 200


# ------------------------------------------------------------------- client ip


def source_ip(shim: Shim, peer: str, forwarded: str | None) -> str:
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    event = event_of(shim, environ_for(peer=peer, headers=headers))
    ip: str = event["requestContext"]["identity"]["sourceIp"]
    return ip


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("203.0.113.50", "10.9.9.9", "203.0.113.50"),
        ("127.0.0.1", "not-an-ip", "not-an-ip"),
        # A Unix socket's peer has no address: nginx on this host (ec2/nginx.conf).
        ("", "203.0.113.9", "203.0.113.9"),
    ],
    ids=[
        "via-nginx",
        "spoofed-leftmost-ignored",
        "nginx-itself",
        "untrusted-peer",
        "garbage",
        "via-nginx-on-a-unix-socket",
    ],
)
def test_the_client_ip_comes_from_x_forwarded_for_only_through_trusted_proxies(
    shim: Shim, peer: str, forwarded: str | None, expected: str
) -> None:
    assert source_ip(shim, peer, forwarded) == expected


def test_trusted_proxies_are_configurable_as_networks(svc: Clients) -> None:
    behind_alb = Shim(probe.app, ShimConfig.load({"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/16"}))
    assert source_ip(behind_alb, "127.0.0.1", "203.0.113.9, 10.0.4.4") == "203.0.113.9"


def test_unix_socket_peers_are_trusted_only_when_trusted_proxies_names_them(svc: Clients) -> None:
    loopback_only = Shim(probe.app, ShimConfig.load({"TRUSTED_PROXIES": "127.0.0.1"}))
    event = event_of(loopback_only, environ_for(peer="", headers={"X-Forwarded-Proto": "https"}))
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert source_ip(loopback_only, "", "203.0.113.9") == ""


def test_a_bad_trusted_proxies_value_stops_the_start_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        ShimConfig.load({"TRUSTED_PROXIES": "localhost"}, ROOT)


def test_without_a_raw_target_the_path_is_rebuilt_from_path_info(svc: Clients) -> None:
    # A server that passes neither RAW_URI nor REQUEST_URI decodes %2F into PATH_INFO:
    # the README names this limit. gunicorn passes RAW_URI, used as sent.
    shim = Shim(probe.app, CONFIG)
    decoded = call_wsgi(shim, environ_for(path="/things/a/b"))
    assert decoded[0] == 404, "two segments: only the catch-all matches"
    raw = environ_for(path="/things/a/b")
    raw["RAW_URI"] = "/things/a%2Fb?x=1"
    status, _, body = call_wsgi(shim, raw)
    assert (status, json.loads(body)) == (200, {"thing_id": "a%2Fb"})


class Failing(Chalice):
    """An app whose handler fails outside any view, where Chalice catches nothing."""

    def __init__(self, answer: Any) -> None:
        super().__init__("failing")
        self.answer = answer
        self.route("/")(lambda: {})

    def __call__(self, event: Any, context: Any) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    "answer",
    [
        RuntimeError("escaped"),
        {"body": "no status"},
        {"statusCode": "200", "body": ""},
        {"statusCode": 200, "body": b"bytes"},
        "not a dict",
    ],
    ids=["exception", "no-status", "status-text", "body-bytes", "not-a-dict"],
)
def test_a_function_error_or_a_malformed_answer_is_api_gateways_502(answer: Any) -> None:
    status, headers, body = call_wsgi(Shim(Failing(answer), CONFIG), environ_for(path="/"))
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    assert ("x-amzn-ErrorType", "InternalServerErrorException") in headers
    assert b"escaped" not in body


def test_an_untrusted_peer_cannot_choose_the_forwarded_proto_or_port(shim: Shim) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Port": "1", "X-Forwarded-For": "1.2.3.4"}
    event = event_of(shim, environ_for(peer="203.0.113.50", headers=headers))
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Forwarded-Port"] == "80"
    assert event["headers"]["X-Forwarded-For"] == "1.2.3.4, 203.0.113.50"


def test_a_trusted_proxys_forwarded_headers_are_passed_on(shim: Shim) -> None:
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "8443",
        "X-Forwarded-For": "1.2.3.4",
    }
    event = event_of(shim, environ_for(headers=headers))
    assert event["headers"]["X-Forwarded-Proto"] == "https"
    assert event["headers"]["X-Forwarded-Port"] == "8443"
    assert event["headers"]["X-Forwarded-For"] == "1.2.3.4"


def test_a_header_in_both_maps_is_sent_with_its_multi_values_only() -> None:
    app = Failing(
        {
            "statusCode": 200,
            "headers": {"X-One": "1", "Set-Cookie": "single"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
            "body": "",
        }
    )
    _, headers, _ = call_wsgi(Shim(app, CONFIG), environ_for(path="/"))
    assert [v for k, v in headers if k.lower() == "set-cookie"] == ["a=1", "b=2"]
    assert ("X-One", "1") in headers
