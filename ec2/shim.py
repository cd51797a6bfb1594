"""The EC2 runtime's adapter: each WSGI request becomes an API Gateway REST (v1) proxy event.

``Shim`` serves any Chalice app as API Gateway's Lambda proxy integration and
Lambda would; ``ec2/wsgi.py`` builds the one the app server (ec2/server.py) runs
from our ``app``.
The event goes to the same Chalice ``app`` that Lambda runs, so no handler can
tell the runtimes apart. This module adapts WSGI to the Lambda event format and
does nothing else: it plays the part API Gateway and Lambda play (choosing the
resource and method, the CORS preflight and API key check Chalice configures on
API Gateway, the payload limits, the timeout, the gateway's own error answers,
binary content handling) and leaves every other answer to the app.

Configuration (environment variables, read when the server imports this module):

- ``TRUSTED_PROXIES``: comma-separated addresses or networks whose
  ``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``X-Forwarded-Port`` are
  believed, and ``unix`` for a peer on a Unix socket (default
  ``127.0.0.1,::1,unix``: nginx on the same host, over loopback or the socket
  ec2/nginx.conf proxies to). From anyone else they are ignored, so a client
  cannot choose the IP that rate limits and logs see.
- ``API_KEYS``: comma-separated keys that routes declared with
  ``api_key_required=True`` accept in ``x-api-key`` (API Gateway's usage-plan
  keys). An app with such a route does not start without one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.client import responses as reasons
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from chalice.app import Chalice, RouteEntry
from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_MEMORY_SIZE, DEFAULT_LAMBDA_TIMEOUT
from chalice.local import LambdaContext

from chalicelib import wire

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parents[1]
# EC2 runs with the limits of the production Lambda function, so a handler that
# would time out there times out here too, even under `make serve`.
LAMBDA_STAGE = "prod"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1,unix"
# A peer on a Unix socket has no address: servers leave REMOTE_ADDR empty. Only a
# process on this host can connect to one.
UNIX_PEERS = "unix"
# Lambda's synchronous invocation limits, on the JSON of the event and of the
# answer (the answer may be 100 bytes longer). A binary body is in the event as
# base64, 4/3 of its size.
LAMBDA_REQUEST_BYTES = 6 * 1024 * 1024
LAMBDA_RESPONSE_BYTES = LAMBDA_REQUEST_BYTES + 100
# The ids API Gateway would put in requestContext; there is no API Gateway here.
ACCOUNT_ID = "000000000000"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RequestTimedOut(BaseException):
    """Raised into a request that outlived the Lambda timeout.

    A ``BaseException`` so that no ``except Exception`` in a view or in the
    route wrapper can swallow it, just as nothing survives a Lambda timeout.
    """


@dataclass(frozen=True)
class GatewayError:
    """An answer API Gateway gives itself, the app never asked: ``{"message": ...}`` JSON."""

    status: int
    message: str
    error_type: str

    def response(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": {"Content-Type": "application/json", "x-amzn-ErrorType": self.error_type},
            "multiValueHeaders": {},
            "body": json.dumps({"message": self.message}),
            "isBase64Encoded": False,
        }


# No resource or no such method on it: API Gateway's answer, whatever the app would say.
MISSING_AUTHENTICATION_TOKEN = GatewayError(
    403, "Missing Authentication Token", "MissingAuthenticationTokenException"
)
# A route declared with api_key_required=True, called without a valid x-api-key.
FORBIDDEN = GatewayError(403, "Forbidden", "ForbiddenException")
# An event over Lambda's limit: the function is never invoked.
REQUEST_TOO_LONG = GatewayError(413, "Request Too Long", "BadRequestException")
# A function error: a timeout, an exception past Chalice, an answer too large or malformed.
INTERNAL_SERVER_ERROR = GatewayError(502, "Internal server error", "InternalServerErrorException")


@dataclass(frozen=True)
class ShimConfig:
    """What API Gateway and Lambda would impose: stage, limits, trusted proxies, API keys."""

    stage: str
    function_name: str
    memory_mb: int
    timeout_s: float
    trusted_proxies: tuple[Network, ...]
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    trust_unix_peers: bool = False

    @classmethod
    def load(cls, environ: Mapping[str, str], project_dir: Path = PROJECT_DIR) -> ShimConfig:
        """Read ``.chalice/config.json`` the way Chalice does, and the environment."""
        on_disk = json.loads((project_dir / ".chalice" / "config.json").read_text())
        chalice = Config(
            chalice_stage=LAMBDA_STAGE,
            config_from_disk=on_disk,
            default_params={
                "lambda_timeout": DEFAULT_LAMBDA_TIMEOUT,
                "lambda_memory_size": DEFAULT_LAMBDA_MEMORY_SIZE,
                "api_gateway_stage": "api",
            },
        )
        keys = environ.get("API_KEYS", "")
        proxies = [
            part.strip()
            for part in environ.get("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES).split(",")
        ]
        return cls(
            stage=chalice.api_gateway_stage,
            function_name=f"{on_disk['app_name']}-{LAMBDA_STAGE}",
            memory_mb=int(chalice.lambda_memory_size),
            timeout_s=float(chalice.lambda_timeout),
            trusted_proxies=parse_networks(
                ",".join(p for p in proxies if p != UNIX_PEERS), "TRUSTED_PROXIES"
            ),
            api_keys=tuple(key.strip() for key in keys.split(",") if key.strip()),
            trust_unix_peers=UNIX_PEERS in proxies,
        )


def parse_networks(value: str, variable: str) -> tuple[Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as exc:
        raise ValueError(f"{variable}: {exc}") from None


@dataclass(frozen=True)
class Match:
    resource: str
    params: dict[str, str]


class RouteTable:
    """API Gateway's resource matching over Chalice's route table.

    A literal segment beats ``{param}``, which beats a greedy ``{name+}``; the
    greedy one takes the rest of the path, however deep (Chalice's own local
    matcher only compares equal segment counts).
    """

    def __init__(self, resources: Iterable[str]) -> None:
        self._literal = {r for r in resources if "{" not in r}
        templates = [tuple(r.strip("/").split("/")) for r in resources if "{" in r]
        self._templates = sorted(templates, key=lambda t: [_rank(s) for s in t])

    def match(self, path: str) -> Match | None:
        if path != "/":
            path = path.rstrip("/")  # API Gateway ignores a trailing slash
        if path in self._literal:
            return Match(path, {})
        parts = path.strip("/").split("/")
        for template in self._templates:
            params = _capture(template, parts)
            if params is not None:
                return Match("/" + "/".join(template), params)
        return None


def _rank(segment: str) -> int:
    if not segment.startswith("{"):
        return 0
    return 2 if segment.endswith("+}") else 1


def _capture(template: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for index, segment in enumerate(template):
        if segment.endswith("+}"):
            rest = parts[index:]
            if not rest or not all(rest):
                return None
            params[segment[1:-2]] = "/".join(rest)  # {proxy+} arrives as "proxy"
            return params
        if index >= len(parts) or not parts[index]:
            return None
        if segment.startswith("{"):
            params[segment[1:-1]] = parts[index]
        elif segment != parts[index]:
            return None
    return params if len(parts) == len(template) else None


class Shim:
    """A WSGI application that serves a Chalice app the way API Gateway + Lambda do."""

    def __init__(self, app: Chalice, config: ShimConfig) -> None:
        entries: list[RouteEntry] = [e for m in app.routes.values() for e in m.values()]
        if any(entry.authorizer is not None for entry in entries):
            # API Gateway runs those before Lambda; this app authenticates in
            # its route wrapper instead, which works the same on both runtimes.
            raise ValueError("Chalice authorizers are not supported on the EC2 runtime")
        if any(entry.api_key_required for entry in entries) and not config.api_keys:
            raise ValueError("API_KEYS: routes with api_key_required=True need at least one key")
        self.app = app
        self.config = config
        self.routes = RouteTable(app.routes)
        self._preflights = {
            path: headers
            for path, methods in app.routes.items()
            if (headers := _preflight_headers(methods)) is not None
        }
        self._binary_types = {t.lower() for t in app.api.binary_types}
        self._api_id = _stable_id(config.function_name, 10)
        # Peers and forwarded hops repeat (nginx is always 127.0.0.1): decide each once.
        self._trusted = functools.lru_cache(maxsize=4096)(self._is_trusted)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        result = self.handle(environ)
        body = result.get("body") or ""
        payload = body.encode() if isinstance(body, str) else bytes(body)
        if result.get("isBase64Encoded") and self._accepts_binary(environ.get("HTTP_ACCEPT")):
            # Otherwise API Gateway sends the base64 text as it is.
            payload = base64.b64decode(payload)
        start_response(_status_line(int(result["statusCode"])), _headers(result, len(payload)))
        # The answer to a HEAD is the GET's (see ``event``) without its content.
        return [] if _is_head(environ) else [payload]

    def handle(self, environ: WSGIEnvironment) -> dict[str, Any]:
        """Answer one request as a Lambda proxy response dict."""
        method = str(environ["REQUEST_METHOD"]).upper()
        path = _request_path(environ)
        match = self.routes.match(path)
        if match is None:
            return MISSING_AUTHENTICATION_TOKEN.response()
        preflight = self._preflights.get(match.resource)
        if method == "OPTIONS" and preflight is not None:
            # The mock integration Chalice deploys for a resource with CORS.
            return {"statusCode": 200, "headers": preflight, "multiValueHeaders": {}, "body": ""}
        entry = self.app.routes[match.resource].get(method)
        if entry is None:
            return MISSING_AUTHENTICATION_TOKEN.response()
        if entry.api_key_required and not self._known_key(environ.get("HTTP_X_API_KEY")):
            return FORBIDDEN.response()
        declared = wire.parse_decimal(environ.get("CONTENT_LENGTH"))
        binary = self._is_binary(_media_type(environ.get("CONTENT_TYPE", "")))
        if declared is not None and _encoded_size(declared, binary=binary) > LAMBDA_REQUEST_BYTES:
            return REQUEST_TOO_LONG.response()  # refused before reading a byte
        body = _read_body(environ, declared)
        context = LambdaContext(
            self.config.function_name,
            self.config.memory_mb,
            max_runtime_ms=int(self.config.timeout_s * 1000),
        )
        event = self.event(environ, path, match, body, request_id=context.aws_request_id)
        if _json_size(event) > LAMBDA_REQUEST_BYTES:
            return REQUEST_TOO_LONG.response()
        return self._invoke(event, context)

    def _invoke(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Call the app as Lambda does: what fails there is a function error here too."""
        armed = _arm_deadline(self.config.timeout_s)
        try:
            result = self.app(event, context)
        except RequestTimedOut:
            log.error("Task timed out after %.2f seconds", self.config.timeout_s)
            return INTERNAL_SERVER_ERROR.response()
        except Exception:
            log.exception("The function failed")
            return INTERNAL_SERVER_ERROR.response()
        finally:
            if armed:
                signal.setitimer(signal.ITIMER_REAL, 0)
        if not _is_proxy_response(result):
            log.error("The function's answer is not a proxy response")
            return INTERNAL_SERVER_ERROR.response()
        if _json_size(result) > LAMBDA_RESPONSE_BYTES:
            log.error("The function's answer is over %d bytes", LAMBDA_RESPONSE_BYTES)
            return INTERNAL_SERVER_ERROR.response()
        return result

    def event(
        self, environ: WSGIEnvironment, path: str, match: Match, body: bytes, *, request_id: str
    ) -> dict[str, Any]:
        """The API Gateway REST (v1) proxy event for this request."""
        multi_headers = self._event_headers(environ)
        headers = {name: values[-1] for name, values in multi_headers.items()}
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        # A HEAD is handed to the app as the GET it stands for, as WSGI servers do,
        # and ``__call__`` drops the content: so it carries the GET's headers,
        # Content-Length included (RFC 9110, 9.3.2), which an answer whose body
        # was dropped before it got here could not state. (On Lambda, API
        # Gateway passes the HEAD on and the app's middleware drops the body.)
        method = "GET" if _is_head(environ) else environ["REQUEST_METHOD"].upper()
        text, is_base64 = self._encode_body(headers.get("Content-Type", ""), body)
        domain = _without_port(headers.get("Host") or str(environ.get("SERVER_NAME", "")))
        now = time.time()
        return {
            "resource": match.resource,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": match.params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": self._api_id,
                "domainName": domain,
                "domainPrefix": domain.split(".", 1)[0],
                "extendedRequestId": _extended_request_id(),
                "httpMethod": method,
                "identity": {
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "sourceIp": self.client_ip(environ),
                    "user": None,
                    "userAgent": headers.get("User-Agent"),
                    "userArn": None,
                },
                "path": f"/{self.config.stage}{path}",
                "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "requestId": request_id,
                "requestTime": _request_time(now),
                "requestTimeEpoch": int(now * 1000),
                "resourceId": _stable_id(match.resource, 6),
                "resourcePath": match.resource,
                "stage": self.config.stage,
            },
            "body": text,
            "isBase64Encoded": is_base64,
        }

    def _event_headers(self, environ: WSGIEnvironment) -> dict[str, list[str]]:
        """The request headers, with the X-Forwarded-* that API Gateway sets itself.

        WSGI hands over one value per name (servers join repeats with ",")
        and no spelling (``HTTP_X_API_KEY``), so each name has one value, title-cased.
        """
        headers: dict[str, list[str]] = {}
        for key, value in environ.items():
            name = _header_name(key)
            if name is not None and (value or key.startswith("HTTP_")):
                headers[name] = [value]
        peer = str(environ.get("REMOTE_ADDR", ""))
        trusted = self._trusted(peer)
        sent_for = str(environ.get("HTTP_X_FORWARDED_FOR", "")).strip()
        # API Gateway appends the address it was called from; a trusted proxy already has.
        forwarded_for = (
            sent_for if trusted and sent_for else ", ".join(filter(None, [sent_for, peer]))
        )
        proto = (trusted and environ.get("HTTP_X_FORWARDED_PROTO")) or environ.get(
            "wsgi.url_scheme", "http"
        )
        host_port = _port_of(str(environ.get("HTTP_HOST", "")))
        port = (
            (trusted and environ.get("HTTP_X_FORWARDED_PORT"))
            or host_port
            or ("443" if proto == "https" else "80")
        )
        headers["X-Forwarded-For"] = [forwarded_for]
        headers["X-Forwarded-Port"] = [str(port)]
        headers["X-Forwarded-Proto"] = [str(proto)]
        return headers

    def client_ip(self, environ: WSGIEnvironment) -> str:
        """The peer, or the address a trusted proxy says it forwarded for."""
        peer = str(environ.get("REMOTE_ADDR", ""))
        chain = [peer]
        if self._trusted(peer):
            forwarded = str(environ.get("HTTP_X_FORWARDED_FOR", ""))
            chain = [peer, *reversed([a.strip() for a in forwarded.split(",") if a.strip()])]
        # Walk back from the peer through trusted hops; the first untrusted one is the client.
        for address in chain:
            if not self._trusted(address):
                return address
        return chain[-1]

    def _is_trusted(self, address: str) -> bool:
        if not address:
            return self.config.trust_unix_peers
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.config.trusted_proxies)

    def _known_key(self, given: str | None) -> bool:
        if not given:
            return False
        sent = given.encode()
        # Compared with every key, in constant time, so timing tells nothing about them.
        return sum(hmac.compare_digest(sent, key.encode()) for key in self.config.api_keys) > 0

    def _encode_body(self, content_type: str, body: bytes) -> tuple[str | None, bool]:
        if not body:
            return None, False
        if not self._is_binary(_media_type(content_type)):
            try:
                return body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass  # a mislabelled body keeps its bytes
        return base64.b64encode(body).decode("ascii"), True

    def _is_binary(self, media: str) -> bool:
        kind = media.split("/", 1)[0]
        return bool({media, f"{kind}/*", "*/*"} & self._binary_types)

    def _accepts_binary(self, accept: str | None) -> bool:
        """API Gateway converts to binary only for the *first* media type in ``Accept``."""
        first = _media_type((accept or "").split(",", 1)[0])
        return bool(first) and self._is_binary(first)


def _preflight_headers(methods: Mapping[str, RouteEntry]) -> dict[str, str] | None:
    """What the OPTIONS method Chalice deploys for a resource with CORS answers; None without.

    Chalice requires one CORS configuration per resource; the allowed methods
    are those that have it, and OPTIONS.
    """
    with_cors = [(method, entry.cors) for method, entry in methods.items() if entry.cors]
    if not with_cors:
        return None
    allowed = [method for method, _ in with_cors if method != "OPTIONS"]
    return {
        "Content-Type": "application/json",
        "Access-Control-Allow-Methods": ",".join([*allowed, "OPTIONS"]),
        **with_cors[0][1].get_access_control_headers(),
    }


def _request_path(environ: WSGIEnvironment) -> str:
    """The path as the client sent it, percent-encoding included, as API Gateway routes it.

    PEP 3333 decodes ``PATH_INFO``, which cannot tell ``a%2Fb`` from ``a/b``;
    gunicorn (``RAW_URI``) and uWSGI (``REQUEST_URI``) also pass the raw target;
    granian does not, so under it ``%2F`` is a ``/`` (README, "What WSGI cannot carry").
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        target = str(raw).split("?", 1)[0].split("#", 1)[0]
        if not target.startswith("/"):
            target = urlsplit(target).path  # absolute-form: http://host/path
        try:
            octets = target.encode("latin-1")
        except UnicodeEncodeError:
            octets = target.encode("utf-8")
        return quote(octets, safe="/:@!$&'()*+,;=~%") or "/"
    path = str(environ.get("PATH_INFO", ""))
    return quote(path.encode("latin-1"), safe="/:@!$&'()*+,;=~") or "/"


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def _encoded_size(length: int, *, binary: bool) -> int:
    """The fewest bytes a body of ``length`` bytes takes in the event."""
    return 4 * -(-length // 3) if binary else length


def _json_size(value: Any) -> int:
    """Bytes of ``value`` as JSON, as Lambda measures an event or an answer."""
    return len(json.dumps(value, ensure_ascii=False).encode())


def _is_proxy_response(result: Any) -> bool:
    """Whether API Gateway could read ``result`` as a Lambda proxy answer."""
    if not isinstance(result, dict):
        return False
    status = result.get("statusCode")
    return (
        isinstance(status, int)
        and 100 <= status <= 599
        and isinstance(result.get("headers") or {}, dict)
        and isinstance(result.get("multiValueHeaders") or {}, dict)
        and isinstance(result.get("body") or "", str)
    )


def _without_port(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


def _port_of(host: str) -> str | None:
    _, colon, port = host.rpartition(":")
    return port if colon and port.isdigit() and not host.endswith("]") else None


@functools.lru_cache(maxsize=1024)
def _stable_id(seed: str, length: int) -> str:
    """An id shaped like API Gateway's (lower-case letters and digits), the same every run."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:12], "big")
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def _extended_request_id() -> str:
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


def _request_time(epoch: float) -> str:
    """``09/Apr/2015:12:34:56 +0000``, whatever the locale."""
    t = time.gmtime(epoch)
    clock = time.strftime("%H:%M:%S", t)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


def _is_head(environ: WSGIEnvironment) -> bool:
    return str(environ.get("REQUEST_METHOD", "")).upper() == "HEAD"


@functools.lru_cache(maxsize=512)
def _header_name(key: str) -> str | None:
    """``HTTP_X_REQUEST_ID`` -> ``X-Request-Id``; None for what is not a header."""
    if key.startswith("HTTP_"):
        key = key[5:]
    elif key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return None
    return key.replace("_", "-").title()


def _read_body(environ: WSGIEnvironment, declared: int | None) -> bytes:
    """The request body, ``declared`` bytes of it when the client said how many."""
    stream = environ["wsgi.input"]
    if declared is not None:
        return bytes(stream.read(declared))
    if environ.get("wsgi.input_terminated"):
        # Chunked upload: read one byte past the limit to know it is too large.
        return bytes(stream.read(LAMBDA_REQUEST_BYTES + 1))
    return b""


@functools.lru_cache(maxsize=64)
def _status_line(status: int) -> str:
    return f"{status} {reasons.get(status, 'Unknown')}"


def _headers(result: Mapping[str, Any], length: int) -> list[tuple[str, str]]:
    """The response headers as API Gateway sends them.

    ``headers`` and ``multiValueHeaders`` are merged; a name in both keeps
    only its ``multiValueHeaders`` values. A response without a
    ``Content-Type`` is JSON, as API Gateway assumes for Lambda proxy answers.
    The body is complete, so it states its length: the server neither chunks
    it nor spends a write on a closing chunk.
    """
    multi: Mapping[str, Iterable[Any]] = result.get("multiValueHeaders") or {}
    repeated = {name.lower() for name in multi}
    pairs = [(n, v) for n, v in (result.get("headers") or {}).items() if n.lower() not in repeated]
    pairs += [(name, value) for name, values in multi.items() for value in values]
    headers = [(n, str(v)) for n, v in pairs if n.lower() != "content-length"]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("Content-Length", str(length)))
    return headers


def _arm_deadline(seconds: float) -> bool:
    """Interrupt the request after ``seconds`` where a signal can reach it; True if armed.

    Signals only reach the main thread, which is where a sync server (gunicorn's
    sync workers) runs requests. granian, the EC2 server, runs them on threads: there
    nginx's ``proxy_read_timeout`` bounds a request (ec2/nginx-proxy.conf). Handlers
    can always read the time left from ``lambda_context.get_remaining_time_in_millis()``.
    The caller disarms.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGALRM) is not _expire:
        signal.signal(signal.SIGALRM, _expire)  # once per process; it acts only when armed
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return True


def _expire(_signum: int, _frame: FrameType | None) -> None:
    raise RequestTimedOut


def create_application(environ: Mapping[str, str] | None = None) -> Shim:
    """The shim around our ``app``, configured from ``environ`` (default: the process's)."""
    from app import app

    return Shim(app, ShimConfig.load(os.environ if environ is None else environ))
