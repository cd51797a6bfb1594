"""Route declarations: each route states its models once, and everything follows.

``Router.route`` registers a Chalice view and records a ``RouteSpec``. The
wrapper around each view is the single place where a request is parsed and
validated, where domain errors become problem+json and database outages a 503
(exceptions raised in a view never reach Chalice middleware), and the spec is
what ``openapi.py`` documents, so the docs cannot drift from what the server accepts.
"""

from __future__ import annotations

import functools
import textwrap
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from chalice.app import Chalice, Request, Response

from chalicelib import errors, wire
from chalicelib.errors import ConfigError
from chalicelib.logs import get_logger
from chalicelib.resources import Resources
from chalicelib.routespec import AuthLevel, ModelRef, RawBody, RouteSpec

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from pymongo import MongoClient
    from pymongo.database import Database

    from chalicelib.clock import Clock
    from chalicelib.images.store import ImageStore
    from chalicelib.mail.message import Mailer
    from chalicelib.ratelimit.limiter import RateLimiter
    from chalicelib.settings import Settings

__all__ = ["Answer", "Api", "Caller", "Context", "RawBody", "RouteSpec", "Router"]

log = get_logger("routing")

# The methods API Gateway passes on (with OPTIONS); it answers any other itself.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# Chalice would answer a content type it does not expect with its own 415;
# every route accepts anything and the wrapper checks, in our error format.
_ANY_CONTENT_TYPE = ["*/*"]

View = Callable[..., Any]


class Answer(NamedTuple):
    """What a view returns when its data alone does not say everything: headers, a status.

    ``body`` is a model (or JSON-able data), text or bytes (sent as ``media_type``),
    or None for no body. ``status`` defaults to the route's declared one.
    """

    body: Any = None
    headers: Mapping[str, str | list[str]] = MappingProxyType({})
    status: int | None = None
    media_type: str | None = None


class Caller(Protocol):
    """What the wrapper checks of a signed-in caller; the authenticator says who it is."""

    @property
    def email_verified(self) -> bool: ...

    @property
    def is_admin(self) -> bool: ...


Authenticator = Callable[["Context"], Caller | None]


def no_authenticator(ctx: Context) -> Caller | None:
    """Until an authenticator is installed, nobody is signed in."""
    if ctx.request.headers.get("authorization"):
        raise errors.Unauthenticated("Access tokens are not accepted by this app.")
    return None


class Context:
    """What a view gets besides its path parameters and validated input.

    Each client is looked up on use, so a route that needs nothing (/health) builds nothing.
    """

    def __init__(self, request: Request, api: Api) -> None:
        self.request = request
        self.api = api

    @property
    def resources(self) -> Resources:
        return self.api.resources()

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def clock(self) -> Clock:
        return self.resources.clock

    @property
    def mongo_client(self) -> MongoClient[dict[str, Any]]:
        return self.resources.mongo_client

    @property
    def db(self) -> Database[dict[str, Any]]:
        return self.resources.db

    @property
    def password_hasher(self) -> PasswordHasher:
        return self.resources.password_hasher

    @property
    def mailer(self) -> Mailer:
        return self.resources.mailer

    @property
    def rate_limiter(self) -> RateLimiter:
        return self.resources.rate_limiter

    @property
    def image_store(self) -> ImageStore:
        return self.resources.image_store


def _no_resources() -> Resources:
    raise RuntimeError("this app was built without resources")


class Api(Chalice):
    """The Chalice app, with per-thread request state and the routes it serves.

    Chalice keeps ``current_request`` and ``lambda_context`` on the app object.
    Lambda runs one request per process so that is harmless there, but
    ``chalice local`` and threaded WSGI servers handle requests concurrently,
    and a shared attribute hands one request's data to another's view.
    """

    def __init__(
        self, app_name: str, *, resources: Callable[[], Resources] = _no_resources
    ) -> None:
        self._state = threading.local()
        super().__init__(app_name, configure_logs=False)
        self.specs: list[RouteSpec] = []
        # The Allow header of each path, once the fallbacks are installed.
        self.allowed: dict[str, list[str]] = {}
        self.resources = resources
        # Turns a request into its caller (None when anonymous) or raises
        # Unauthenticated for a bad token; the accounts package provides one.
        self.authenticator: Authenticator = no_authenticator

    @property
    def current_request(self) -> Request | None:
        return getattr(self._state, "current_request", None)

    @current_request.setter
    def current_request(self, value: Request | None) -> None:
        self._state.current_request = value

    @property
    def lambda_context(self) -> Any:
        return getattr(self._state, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._state.lambda_context = value

    def include(self, router: Router) -> None:
        """Serve a router's routes; the same router may serve any number of apps."""
        for spec, view in router.views:
            # Every GET answers HEAD too (RFC 9110, 9.3.2): declared, because API
            # Gateway only passes on the methods a route names; the middleware
            # drops the body.
            methods = [spec.method, "HEAD"] if spec.method == "GET" else [spec.method]
            register = self.route(
                spec.path, methods=methods, content_types=_ANY_CONTENT_TYPE, name=spec.name
            )
            register(_wrap(self, spec, view))
            self.specs.append(spec)

    def install_fallbacks(self) -> None:
        """Answer every other method of a known path, and every unknown path, ourselves.

        API Gateway would answer them with a bare 403 ``Missing Authentication
        Token`` and Chalice's dev gateway with its own JSON; clients deserve
        our problem+json, a correct ``Allow`` header and CORS preflights.
        """
        declared: dict[str, set[str]] = defaultdict(set)
        for spec in self.specs:
            declared[spec.path].add(spec.method)
            if spec.method == "GET":
                declared[spec.path].add("HEAD")
        for path, methods in declared.items():
            missing = [m for m in (*METHODS, "OPTIONS") if m not in methods]
            allowed = sorted(methods | {"OPTIONS"})
            self.allowed[path] = allowed
            self.route(
                path,
                methods=missing,
                content_types=_ANY_CONTENT_TYPE,
                name=f"fallback{_name_for(path)}",
            )(_method_fallback(self, allowed))
        # Innermost of the middleware, so the app's own middleware wraps its answers too.
        self.register_middleware(self._unrouted_method, "http")
        # A greedy path on API Gateway; Chalice's local gateway matches it for
        # one path segment only and answers deeper unknown paths itself.
        self.route(
            "/{proxy+}",
            methods=[*METHODS, "OPTIONS"],
            content_types=_ANY_CONTENT_TYPE,
            name="not_found",
        )(_not_found)

    def _unrouted_method(
        self, request: Request, get_response: Callable[[Request], Response]
    ) -> Response:
        """Answer a method no route declares (TRACE, QUERY, BREW) with the path's ``Allow``.

        Chalice would answer 405 listing every method the path has a view for,
        fallbacks included. A method HTTP does not define is a 405 too, not a
        501 (RFC 9110 allows either): it is the client's mistake, and a 5xx
        would count as the server's in every error rate and alarm.
        """
        resource = request.context.get("resourcePath", "")
        if request.method in self.routes.get(resource, {}):
            return get_response(request)
        if resource in self.allowed:
            return wire.error_to_response(
                errors.MethodNotAllowed(
                    f"{request.method} is not allowed here.", allowed=self.allowed[resource]
                )
            )
        return _not_found()


class Router:
    """Routes that declare their models; an ``Api`` serves them with ``include``.

    A route names its models (``body="LoginIn"``), looked up in ``models`` (by
    default the ``models`` module beside the router's: ``chalicelib.auth.models``
    for ``chalicelib.auth.routes``) when a request or the document first needs them.
    """

    def __init__(self, import_name: str, *, tag: str, models: str | None = None) -> None:
        self.import_name = import_name
        self.tag = tag
        self.models = models or import_name.rpartition(".")[0] + ".models"
        self.views: list[tuple[RouteSpec, View]] = []

    @property
    def specs(self) -> list[RouteSpec]:
        return [spec for spec, _ in self.views]

    def route(
        self,
        path: str,
        method: str = "GET",
        *,
        body: ModelRef | None = None,
        body_required: bool = True,
        raw_body: RawBody | None = None,
        query: ModelRef | None = None,
        response: ModelRef | None = None,
        status: int = 200,
        errors: Iterable[int] = (),
        response_media_type: str = wire.JSON,
        include_in_schema: bool = True,
        auth: AuthLevel | None = None,
    ) -> Callable[[View], View]:
        """Declare a route.

        The view is called as ``view(ctx, **path_params, body=..., query=..., user=...)``:
        ``body`` when a body model is declared, ``query`` when a query model is,
        ``user`` (the caller, or None for ``auth="optional"``) when ``auth`` is set.
        A ``raw_body`` is only documented: the view reads ``ctx.request`` itself.
        """
        if body is not None and raw_body is not None:
            raise ValueError(f"{method} {path}: declare either body or raw_body, not both")

        def decorator(view: View) -> View:
            summary, description = _summary_and_description(view)
            spec = RouteSpec(
                path=path,
                method=method,
                name=view.__name__,
                summary=summary.strip(),
                description=description.strip(),
                tag=self.tag,
                models=self.models,
                body_ref=body,
                body_required=body_required,
                raw_body=raw_body,
                query_ref=query,
                response_ref=response,
                status=status,
                errors=tuple(sorted(set(errors))),
                response_media_type=response_media_type,
                include_in_schema=include_in_schema,
                auth=auth,
            )
            self.views.append((spec, view))
            return view

        return decorator


def _wrap(api: Api, spec: RouteSpec, view: View) -> View:
    @functools.wraps(view)
    def handler(**path_params: str) -> Response:
        request = api.current_request
        assert request is not None
        try:
            ctx = Context(request, api)
            kwargs: dict[str, Any] = dict(path_params)
            if spec.auth is not None:
                kwargs["user"] = _authorize(spec.auth, api.authenticator(ctx))
            body, query = spec.body, spec.query
            if body is not None:
                kwargs["body"] = wire.parse_json_body(request, body, required=spec.body_required)
            if query is not None:
                kwargs["query"] = wire.parse_query(request, query)
            result = view(ctx, **kwargs)
            return to_response(result, spec.status)
        except errors.DomainError as exc:
            return wire.error_to_response(exc)
        except ConfigError as exc:
            # The message names variables, never their values.
            log.error({"event": "config_error", "problems": exc.problems})
            return wire.internal_error_response()
        except Exception as exc:
            outage = _database_outage(exc)
            if outage is not None:
                return wire.error_to_response(outage)
            log.exception({"event": "unhandled_exception", "route": spec.name})
            return wire.internal_error_response()

    return handler


def _database_outage(exc: Exception) -> errors.Unavailable | None:
    """The one boundary where a database failure becomes a 503 the client may retry."""
    # Imported here: only a request that touched the database can fail this way, and
    # /health must not pay for loading the driver.
    from chalicelib import db

    return db.outage(exc)


def _authorize(level: AuthLevel, caller: Caller | None) -> Caller | None:
    """Check what a route demands of its caller; authentication runs before validation."""
    if caller is None:
        if level == "optional":
            return None
        raise errors.Unauthenticated("Sign in to do this.", code="unauthenticated")
    if level == "verified" and not caller.email_verified:
        raise errors.Forbidden("Verify your email address first.", code="email_not_verified")
    if level == "admin" and not caller.is_admin:
        raise errors.Forbidden("Only administrators may do this.", code="admin_only")
    return caller


def to_response(result: Any, status: int) -> Response:
    """The one place a view's answer becomes HTTP."""
    answer = result if isinstance(result, Answer) else Answer(result)
    code = answer.status or (204 if result is None else status)
    headers: dict[str, str | list[str]] = dict(answer.headers)
    if answer.body is None:
        return Response(body="", status_code=code, headers=headers)
    if isinstance(answer.body, (str, bytes)):
        headers["Content-Type"] = answer.media_type or "application/octet-stream"
        return Response(body=answer.body, status_code=code, headers=headers)
    return wire.json_response(answer.body, status=code, headers=headers)


def _method_fallback(api: Api, allowed: list[str]) -> View:
    def fallback(**_: str) -> Response:
        request = api.current_request
        if request is not None and request.method == "OPTIONS":
            # A CORS preflight (or a plain OPTIONS): the middleware adds the
            # Access-Control-* headers when the origin is allowed.
            return wire.empty_response(204, {"Allow": ", ".join(allowed)})
        method = request.method if request is not None else "this method"
        return wire.error_to_response(
            errors.MethodNotAllowed(f"{method} is not allowed here.", allowed=allowed)
        )

    return fallback


def _not_found(**_: str) -> Response:
    return wire.error_to_response(errors.NotFound("No such resource."))


def _summary_and_description(view: View) -> tuple[str, str]:
    """A view's docstring as its first line and the rest, dedented (as ``inspect.cleandoc``
    would, without loading ``inspect`` on a cold start); the name when it has none."""
    text = (view.__doc__ or "").expandtabs().strip()
    if not text:
        return view.__name__.replace("_", " ").capitalize(), ""
    first, _, rest = text.partition("\n")
    return first.strip(), textwrap.dedent(rest).strip()


def _name_for(path: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in path)
