"""The EC2 runtime's adapter: each WSGI request becomes an API Gateway REST (v1) proxy event.

``Shim`` serves any Chalice app; ``ec2/wsgi.py`` builds the one gunicorn runs
from our ``app``. The event goes to the same Chalice ``app`` that Lambda runs,
so no handler can tell the runtimes apart. This module adapts WSGI to the
Lambda event format and does nothing else: it plays
the part API Gateway and Lambda play (choosing the resource, the payload limit,
the timeout) and leaves every answer to the app.

Configuration (environment variables, read when gunicorn imports this module):

- ``TRUSTED_PROXIES``: comma-separated addresses or networks whose
  ``X-Forwarded-For`` is believed (default ``127.0.0.1,::1``: nginx on the
  same host). From anyone else the header is ignored, so a client cannot
  choose the IP that rate limits and logs see.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import os
import signal
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.client import responses as reasons
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from chalice.app import Chalice, RouteEntry
from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_MEMORY_SIZE, DEFAULT_LAMBDA_TIMEOUT
from chalice.local import LambdaContext

from chalicelib import errors, wire

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PROJECT_DIR = Path(__file__).resolve().parents[1]
# EC2 runs with the limits of the production Lambda function, so a handler that
# would time out there times out here too, even under `make serve`.
LAMBDA_STAGE = "prod"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RequestTimedOut(BaseException):
    """Raised into a request that outlived the Lambda timeout.

    A ``BaseException`` so that no ``except Exception`` in a view or in the
    route wrapper can swallow it, just as nothing survives a Lambda timeout.
    """


@dataclass(frozen=True)
class ShimConfig:
    """What API Gateway and Lambda would impose: stage, limits, trusted proxies."""

    stage: str
    function_name: str
    memory_mb: int
    timeout_s: float
    trusted_proxies: tuple[Network, ...]

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
        return cls(
            stage=chalice.api_gateway_stage,
            function_name=f"{on_disk['app_name']}-{LAMBDA_STAGE}",
            memory_mb=int(chalice.lambda_memory_size),
            timeout_s=float(chalice.lambda_timeout),
            trusted_proxies=parse_networks(
                environ.get("TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES), "TRUSTED_PROXIES"
            ),
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
            params[segment[1:-1]] = "/".join(rest)
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
        self.app = app
        self.config = config
        self.routes = RouteTable(app.routes)
        self._binary_types = {t.lower() for t in app.api.binary_types}
        # Peers and forwarded hops repeat (nginx is always 127.0.0.1): decide each once.
        self._trusted = functools.lru_cache(maxsize=4096)(self._is_trusted)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        result = self.handle(environ)
        body = result.get("body") or b""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body)
        payload = body if isinstance(body, bytes) else body.encode()
        start_response(_status_line(int(result["statusCode"])), _headers(result, len(payload)))
        # The answer to a HEAD is the GET's (see ``event``) without its content.
        return [] if _is_head(environ) else [payload]

    def handle(self, environ: WSGIEnvironment) -> dict[str, Any]:
        """Answer one request as a Lambda proxy response dict."""
        try:
            # Refused before reading a byte, as Lambda refuses oversized payloads.
            wire.check_body_size(declared=environ.get("CONTENT_LENGTH"))
            body = _read_body(environ, wire.parse_decimal(environ.get("CONTENT_LENGTH")))
            wire.check_body_size(received=len(body))
        except errors.PayloadTooLarge as exc:
            return wire.error_to_response(exc).to_dict()
        path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/:@!$&'()*+,;=~")
        match = self.routes.match(path or "/")
        if match is None:
            return wire.error_to_response(errors.NotFound("No such resource.")).to_dict()
        context = LambdaContext(
            self.config.function_name,
            self.config.memory_mb,
            max_runtime_ms=int(self.config.timeout_s * 1000),
        )
        event = self.event(environ, path, match, body, request_id=context.aws_request_id)
        armed = _arm_deadline(self.config.timeout_s)
        try:
            return self.app(event, context)
        except RequestTimedOut:
            detail = f"The request took longer than {self.config.timeout_s:g} s."
            return wire.problem_response(504, "Gateway timeout", detail, code="timeout").to_dict()
        finally:
            if armed:
                signal.setitimer(signal.ITIMER_REAL, 0)

    def event(
        self, environ: WSGIEnvironment, path: str, match: Match, body: bytes, *, request_id: str
    ) -> dict[str, Any]:
        """The API Gateway REST (v1) proxy event for this request."""
        multi_headers: dict[str, list[str]] = {}
        for key, value in environ.items():
            name = _header_name(key)
            if name is not None and (value or key.startswith("HTTP_")):
                multi_headers.setdefault(name, []).append(value)
        headers = {name: values[-1] for name, values in multi_headers.items()}
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        # A HEAD is handed to the app as the GET it stands for, as WSGI servers do,
        # and ``__call__`` drops the content: so it carries the GET's headers,
        # Content-Length included (RFC 9110, 9.3.2), which an answer whose body
        # was dropped before it got here could not state. (On Lambda, API
        # Gateway passes the HEAD on and the app's middleware drops the body.)
        method = "GET" if _is_head(environ) else environ["REQUEST_METHOD"].upper()
        text, is_base64 = self._encode_body(headers.get("Content-Type", ""), body)
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
                "resourcePath": match.resource,
                "httpMethod": method,
                "path": path,
                "stage": self.config.stage,
                "requestId": request_id,
                "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "domainName": headers.get("Host") or environ.get("SERVER_NAME", ""),
                "identity": {
                    "sourceIp": self.client_ip(environ),
                    "userAgent": headers.get("User-Agent"),
                },
            },
            "body": text,
            "isBase64Encoded": is_base64,
        }

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
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.config.trusted_proxies)

    def _encode_body(self, content_type: str, body: bytes) -> tuple[str | None, bool]:
        if not body:
            return None, False
        media = content_type.split(";", 1)[0].strip().lower()
        if not self._is_binary(media):
            try:
                return body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass  # a mislabelled body keeps its bytes
        return base64.b64encode(body).decode("ascii"), True

    def _is_binary(self, media: str) -> bool:
        kind = media.split("/", 1)[0]
        return bool({media, f"{kind}/*", "*/*"} & self._binary_types)


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
        return bytes(stream.read(wire.MAX_BODY_BYTES + 1))
    return b""


@functools.lru_cache(maxsize=64)
def _status_line(status: int) -> str:
    return f"{status} {reasons.get(status, 'Unknown')}"


def _headers(result: Mapping[str, Any], length: int) -> list[tuple[str, str]]:
    """The response headers as API Gateway sends them.

    A response without a ``Content-Type`` is JSON, as API Gateway assumes for
    Lambda proxy answers. The body is complete, so it states its length: the
    server neither chunks it nor spends a write on a closing chunk.
    """
    headers: list[tuple[str, str]] = []
    typed = False
    for name, value in result["headers"].items():
        lowered = name.lower()
        if lowered != "content-length":
            typed = typed or lowered == "content-type"
            headers.append((name, str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        lowered = name.lower()
        if lowered != "content-length":
            typed = typed or lowered == "content-type"
            headers += [(name, str(value)) for value in values]
    if not typed:
        headers.append(("Content-Type", wire.JSON))
    headers.append(("Content-Length", str(length)))
    return headers


def _arm_deadline(seconds: float) -> bool:
    """Interrupt the request after ``seconds`` where a signal can reach it; True if armed.

    Signals only reach the main thread, which is where gunicorn's sync workers
    (our default) run requests. Threaded workers rely on gunicorn's ``timeout``
    and nginx's ``proxy_read_timeout``; handlers can always read the time left
    from ``lambda_context.get_remaining_time_in_millis()``. The caller disarms.
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
