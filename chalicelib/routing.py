"""Route declarations: each route states its models once, and everything follows.

``Router.route`` registers a Chalice view and records a ``RouteSpec``. The
wrapper around each view is the single place where a request is parsed and
validated, where domain errors become problem+json (exceptions raised in a
view never reach Chalice middleware), and the spec is what ``openapi.py``
documents, so the docs cannot drift from what the server accepts.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalice.app import Blueprint, Chalice, Request, Response
from pydantic import BaseModel

from chalicelib import errors, http, services
from chalicelib.auth.principal import AuthLevel, Principal
from chalicelib.logs import get_logger
from chalicelib.settings import ConfigError, Settings

log = get_logger("routing")

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Chalice would answer a content type it does not expect with its own 415;
# every route accepts anything and the wrapper checks, in our error format.
_ANY_CONTENT_TYPE = ["*/*"]

View = Callable[..., Any]
Authenticator = Callable[[Request], Principal | None]


def no_authenticator(request: Request) -> Principal | None:
    """Until an authenticator is installed, nobody is signed in."""
    if request.headers.get("authorization"):
        raise errors.Unauthenticated("Access tokens are not accepted by this app.")
    return None


@dataclass(frozen=True)
class RawBody:
    """A request body the view reads itself, declared so that the document describes it.

    ``content`` maps each accepted media type (a range such as ``image/*`` too)
    to the model of its form fields (for ``multipart/form-data``), or to None
    for the bytes as sent. The wrapper parses none of it: a JSON body is
    declared with ``body=`` instead.
    """

    content: Mapping[str, type[BaseModel] | None]
    required: bool = True


@dataclass(frozen=True)
class RouteSpec:
    """What one route accepts and answers: read by the wrapper and by openapi.py."""

    path: str
    method: str
    name: str
    summary: str
    description: str
    tag: str
    body: type[BaseModel] | None = None
    body_required: bool = True
    raw_body: RawBody | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    response_media_type: str = http.JSON
    include_in_schema: bool = True
    auth: AuthLevel | None = None


class Context:
    """What a view gets besides its path parameters and validated input."""

    def __init__(self, request: Request, api: Api) -> None:
        self.request = request
        self.api = api

    @property
    def services(self) -> services.Services:
        # Looked up on use, so a route that needs nothing (/health) builds nothing.
        return services.current()

    @property
    def settings(self) -> Settings:
        return self.services.settings


class Api(Chalice):
    """The Chalice app, with per-thread request state and the routers it serves.

    Chalice keeps ``current_request`` and ``lambda_context`` on the app object.
    Lambda runs one request per process so that is harmless there, but
    ``chalice local`` and threaded WSGI servers handle requests concurrently,
    and a shared attribute hands one request's data to another's view.
    """

    def __init__(self, app_name: str) -> None:
        self._state = threading.local()
        super().__init__(app_name, configure_logs=False)
        self.specs: list[RouteSpec] = []
        self._openapi: dict[str, Any] | None = None
        # Turns a request into a Principal (None when anonymous) or raises
        # Unauthenticated for a bad token; the accounts package installs its own.
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
        if router.api is not None and router.api is not self:
            raise ValueError(f"router {router.blueprint} is already part of another app")
        router.api = self
        self.register_blueprint(router.blueprint)
        self.specs.extend(router.specs)

    def install_fallbacks(self) -> None:
        """Answer every other method of a known path, and every unknown path, ourselves.

        API Gateway would answer them with a bare 403 ``Missing Authentication
        Token`` and Chalice's dev gateway with its own JSON; clients deserve
        our problem+json, a correct ``Allow`` header and CORS preflights.
        """
        declared: dict[str, set[str]] = defaultdict(set)
        for spec in self.specs:
            declared[spec.path].add(spec.method)
        for path, methods in declared.items():
            missing = [m for m in (*METHODS, "OPTIONS") if m not in methods]
            allowed = sorted(methods | {"OPTIONS"})
            self.route(
                path,
                methods=missing,
                content_types=_ANY_CONTENT_TYPE,
                name=f"fallback{_name_for(path)}",
            )(_method_fallback(self, allowed))
        # A greedy path on API Gateway; Chalice's local gateway matches it for
        # one path segment only and answers deeper unknown paths itself.
        self.route(
            "/{proxy+}",
            methods=[*METHODS, "OPTIONS"],
            content_types=_ANY_CONTENT_TYPE,
            name="not_found",
        )(_not_found)

    def openapi(self) -> dict[str, Any]:
        if self._openapi is None:
            from chalicelib import openapi

            self._openapi = openapi.build_document(self.specs, title=self.app_name)
        return self._openapi


class Router:
    """A Chalice blueprint whose routes declare their models."""

    def __init__(self, import_name: str, *, tag: str) -> None:
        self.blueprint = Blueprint(import_name)
        self.tag = tag
        self.specs: list[RouteSpec] = []
        self.api: Api | None = None

    def route(
        self,
        path: str,
        method: str = "GET",
        *,
        body: type[BaseModel] | None = None,
        body_required: bool = True,
        raw_body: RawBody | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: Iterable[int] = (),
        response_media_type: str = http.JSON,
        include_in_schema: bool = True,
        auth: AuthLevel | None = None,
    ) -> Callable[[View], View]:
        """Declare a route.

        The view is called as ``view(ctx, **path_params, body=..., query=..., user=...)``:
        ``body`` when a body model is declared, ``query`` when a query model is,
        ``user`` (a ``Principal``, or None for ``auth="optional"``) when ``auth`` is set.
        A ``raw_body`` is only documented: the view reads ``ctx.request`` itself.
        """
        if body is not None and raw_body is not None:
            raise ValueError(f"{method} {path}: declare either body or raw_body, not both")

        def decorator(view: View) -> View:
            doc = inspect.getdoc(view) or view.__name__.replace("_", " ").capitalize()
            summary, _, description = doc.partition("\n")
            spec = RouteSpec(
                path=path,
                method=method,
                name=view.__name__,
                summary=summary.strip(),
                description=description.strip(),
                tag=self.tag,
                body=body,
                body_required=body_required,
                raw_body=raw_body,
                query=query,
                response=response,
                status=status,
                errors=tuple(sorted(set(errors))),
                response_media_type=response_media_type,
                include_in_schema=include_in_schema,
                auth=auth,
            )
            self.specs.append(spec)
            self.blueprint.route(
                path, methods=[method], content_types=_ANY_CONTENT_TYPE, name=view.__name__
            )(self._wrap(spec, view))
            return view

        return decorator

    def _wrap(self, spec: RouteSpec, view: View) -> View:
        @functools.wraps(view)
        def handler(**path_params: str) -> Response:
            request = self.blueprint.current_request
            try:
                assert self.api is not None, "router used before Api.include()"
                kwargs: dict[str, Any] = dict(path_params)
                if spec.auth is not None:
                    kwargs["user"] = _authorize(spec.auth, self.api.authenticator(request))
                if spec.body is not None:
                    kwargs["body"] = http.parse_json_body(
                        request, spec.body, required=spec.body_required
                    )
                if spec.query is not None:
                    kwargs["query"] = http.parse_query(request, spec.query)
                result = view(Context(request, self.api), **kwargs)
                return to_response(result, spec.status)
            except errors.DomainError as exc:
                return http.error_to_response(exc)
            except ConfigError as exc:
                # The message names variables, never their values.
                log.error({"event": "config_error", "problems": exc.problems})
                return http.internal_error_response()
            except Exception:
                log.exception({"event": "unhandled_exception", "route": spec.name})
                return http.internal_error_response()

        return handler


def _authorize(level: AuthLevel, principal: Principal | None) -> Principal | None:
    """Check what a route demands of its caller; authentication runs before validation."""
    if principal is None:
        if level == "optional":
            return None
        raise errors.Unauthenticated("Sign in to do this.", code="unauthenticated")
    if level == "verified" and not principal.email_verified:
        raise errors.Forbidden("Verify your email address first.", code="email_not_verified")
    if level == "admin" and not principal.is_admin:
        raise errors.Forbidden("Only administrators may do this.", code="admin_only")
    return principal


def to_response(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return http.empty_response(204)
    return http.json_response(result, status=status)


def _method_fallback(api: Api, allowed: list[str]) -> View:
    def fallback(**_: str) -> Response:
        request = api.current_request
        if request is not None and request.method == "OPTIONS":
            # A CORS preflight (or a plain OPTIONS): the middleware adds the
            # Access-Control-* headers when the origin is allowed.
            return http.empty_response(204, {"Allow": ", ".join(allowed)})
        method = request.method if request is not None else "this method"
        return http.error_to_response(
            errors.MethodNotAllowed(f"{method} is not allowed here.", allowed=allowed)
        )

    return fallback


def _not_found(**_: str) -> Response:
    return http.error_to_response(errors.NotFound("No such resource."))


def _name_for(path: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in path)
