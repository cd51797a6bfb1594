"""/auth: register, sign in, refresh, sign out, verify the address, reset the password."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalice.app import Request

from chalicelib import errors, lazy, wire
from chalicelib.routing import Answer, Context, Router

# The first request that needs them loads the services (pymongo, argon2, PyJWT) and
# the models (pydantic); importing the app (a Lambda cold start) loads none of them.
if TYPE_CHECKING:
    from http import cookies as http_cookies

    from chalicelib import sessions
    from chalicelib.auth import devices, models, service
    from chalicelib.principal import Principal
    from chalicelib.users import service as users_service
    from chalicelib.users.models import UserPrivate
    from chalicelib.users.repository import UserRecord
else:
    http_cookies = lazy.module("http.cookies")
    devices = lazy.module("chalicelib.auth.devices")
    models = lazy.module("chalicelib.auth.models")
    sessions = lazy.module("chalicelib.sessions")
    service = lazy.module("chalicelib.auth.service")
    users_service = lazy.module("chalicelib.users.service")

router = Router(__name__, tag="auth")

COOKIE = "refresh_token"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
_DEFAULT_PORTS = {"http": "80", "https": "443"}


@router.route(
    "/auth/register",
    "POST",
    body="RegisterIn",
    response="Registered",
    status=201,
    errors=[409, 429],
)
def register(ctx: Context, *, body: models.RegisterIn) -> models.Registered:
    """Create an account; a verification link is mailed to the address."""
    user = service.register(
        db=ctx.db,
        clock=ctx.clock,
        password_hasher=ctx.password_hasher,
        rate_limiter=ctx.rate_limiter,
        mailer=ctx.mailer,
        settings=ctx.settings,
        data=body,
        client_ip=wire.client_ip(ctx.request),
    )
    return models.Registered(user=_private(ctx, user))


@router.route("/auth/login", "POST", body="LoginIn", response="TokenPair", errors=[401, 403, 429])
def login(ctx: Context, *, body: models.LoginIn) -> Answer:
    """Sign in: an access token, and a refresh token in the body and an httpOnly cookie."""
    _require_own_origin(ctx)
    issued = service.login(
        db=ctx.db,
        clock=ctx.clock,
        password_hasher=ctx.password_hasher,
        rate_limiter=ctx.rate_limiter,
        settings=ctx.settings,
        email=body.email,
        password=body.password,
        client_ip=wire.client_ip(ctx.request),
        device_token=_cookie(ctx.request, devices.COOKIE),
    )
    return _tokens_response(ctx, issued)


@router.route(
    "/auth/refresh",
    "POST",
    body="RefreshIn",
    body_required=False,
    response="TokenPair",
    errors=[401, 403],
)
def refresh(ctx: Context, *, body: models.RefreshIn) -> Answer:
    """Trade a refresh token (body or cookie) for a new pair; each one works once."""
    _require_own_origin(ctx)
    token = body.refresh_token or _cookie(ctx.request, COOKIE)
    issued = service.refresh(db=ctx.db, clock=ctx.clock, settings=ctx.settings, token=token)
    return _tokens_response(ctx, issued)


@router.route("/auth/logout", "POST", status=204, auth="user")
def logout(ctx: Context, *, user: Principal) -> Answer:
    """Sign out: this session's refresh tokens stop working and the cookie is cleared."""
    service.logout(db=ctx.db, clock=ctx.clock, principal=user)
    return Answer(headers={"Set-Cookie": _cookie_header(ctx, COOKIE, "", max_age=0)})


@router.route("/auth/verify-email", "POST", body="TokenIn", status=204)
def verify_email(ctx: Context, *, body: models.TokenIn) -> None:
    """Confirm the email address with the token from the mailed link."""
    service.verify_email(db=ctx.db, clock=ctx.clock, token=body.token)


@router.route("/auth/verify-email/resend", "POST", status=204, auth="user", errors=[429])
def resend_verification(ctx: Context, *, user: Principal) -> None:
    """Mail a new verification link (nothing is sent once the address is verified)."""
    service.resend_verification(
        db=ctx.db,
        clock=ctx.clock,
        rate_limiter=ctx.rate_limiter,
        mailer=ctx.mailer,
        settings=ctx.settings,
        principal=user,
    )


@router.route(
    "/auth/password-reset",
    "POST",
    body="PasswordResetIn",
    response="Accepted",
    status=202,
    errors=[429],
)
def request_password_reset(ctx: Context, *, body: models.PasswordResetIn) -> models.Accepted:
    """Mail a reset link; the answer is the same whether or not the account exists."""
    detail = service.request_password_reset(
        db=ctx.db,
        clock=ctx.clock,
        rate_limiter=ctx.rate_limiter,
        mailer=ctx.mailer,
        settings=ctx.settings,
        email=body.email,
        client_ip=wire.client_ip(ctx.request),
    )
    return models.Accepted(detail=detail)


@router.route(
    "/auth/password-reset/confirm",
    "POST",
    body="PasswordResetConfirm",
    status=204,
    errors=[403],
)
def confirm_password_reset(ctx: Context, *, body: models.PasswordResetConfirm) -> Answer:
    """Set a new password with the token from the mailed link; every session ends.

    The browser that did it becomes a known device (the `known_device` cookie):
    it can sign in even while others keep failing to.
    """
    _require_own_origin(ctx)
    device = service.confirm_password_reset(
        db=ctx.db,
        clock=ctx.clock,
        password_hasher=ctx.password_hasher,
        rate_limiter=ctx.rate_limiter,
        settings=ctx.settings,
        data=body,
    )
    return Answer(headers={"Set-Cookie": _device_cookie_header(ctx, device)})


def authenticate_request(ctx: Context) -> Principal | None:
    """The app's authenticator: the caller behind ``Authorization: Bearer <access token>``."""
    authorization = ctx.request.headers.get("authorization")
    if not authorization:
        return None  # anonymous: nothing to look up, no client to build
    return service.authenticate(
        db=ctx.db, clock=ctx.clock, settings=ctx.settings, authorization=authorization
    )


def _tokens_response(ctx: Context, issued: service.Issued) -> Answer:
    pair = models.TokenPair(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        user=_private(ctx, issued.user),
    )
    cookies: list[str] = []
    if issued.refresh_token is not None:
        max_age = int(sessions.ABSOLUTE_LIFETIME.total_seconds())
        cookies.append(_cookie_header(ctx, COOKIE, issued.refresh_token, max_age=max_age))
    if issued.device_token is not None:
        cookies.append(_device_cookie_header(ctx, issued.device_token))
    headers: dict[str, str | list[str]] = {}
    if cookies:
        headers["Set-Cookie"] = cookies[0] if len(cookies) == 1 else cookies
    return Answer(pair, headers=headers)


def _private(ctx: Context, user: UserRecord) -> UserPrivate:
    return users_service.render_private(db=ctx.db, image_store=ctx.image_store, records=[user])[0]


def _device_cookie_header(ctx: Context, token: str) -> str:
    return _cookie_header(ctx, devices.COOKIE, token, max_age=int(devices.LIFETIME.total_seconds()))


def _cookie_header(ctx: Context, name: str, value: str, *, max_age: int) -> str:
    """A cookie of ours as a ``Set-Cookie`` value; an empty value with ``max_age=0`` clears it."""
    morsel: http_cookies.Morsel[str] = http_cookies.Morsel()
    # Our tokens are URL-safe base64 (and dots), cookie-octets as they are; the empty
    # value that clears the cookie is written bare (``refresh_token=``), not as "".
    morsel.set(name, value, http_cookies.SimpleCookie().value_encode(value)[1] if value else "")
    morsel["path"] = ctx.settings.auth_cookie_path
    morsel["max-age"] = max_age
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    morsel["secure"] = _is_secure(ctx.request)
    return morsel.OutputString()


def _is_secure(request: Request) -> bool:
    """Secure everywhere except plain-http localhost, where browsers would drop it."""
    host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
    scheme = (request.headers.get("x-forwarded-proto") or "").lower()
    return not (host in _LOCAL_HOSTS and scheme != "https")


def _cookie(request: Request, name: str) -> str | None:
    header = request.headers.get("cookie")
    if not header:
        return None
    jar: http_cookies.SimpleCookie = http_cookies.SimpleCookie()
    try:
        jar.load(header)
    except http_cookies.CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _require_own_origin(ctx: Context) -> None:
    """Refuse a browser request from a page that is not ours, on every route that uses cookies.

    A browser attaches cookies by itself, also to requests another page makes
    (CSRF): a cross-site form could rotate the refresh cookie or sign the
    visitor in to someone else's account. Our pages are the web app's origin
    (``FRONTEND_URL``), the API's own (``PUBLIC_BASE_URL``, or the ``Host`` the
    request was sent to) and the ``CORS_ORIGINS`` allow-list; behind the Vercel
    rewrite and ``make run``'s proxy the browser's ``Origin`` is the web app's.
    A request with neither ``Origin`` nor ``Sec-Fetch-Site`` comes from no
    browser (curl, a native app): there is no victim's browser to abuse, so it
    passes. A browser that sends no ``Origin`` sends ``Sec-Fetch-Site``.
    """
    headers = ctx.request.headers
    site = (headers.get("sec-fetch-site") or "").strip().lower()
    origin = headers.get("origin")
    if site == "cross-site":
        raise _foreign_origin()
    if origin is None:
        if site not in ("", "same-origin", "none"):
            raise _foreign_origin()
        return
    if not _is_own_origin(ctx, origin.strip()):
        raise _foreign_origin()


def _is_own_origin(ctx: Context, origin: str) -> bool:
    if origin.lower() == "null":  # sandboxed frames, file: pages, some redirects
        return False
    settings = ctx.settings
    if settings.origin_policy.allows(origin):
        return True
    own = {_origin_of(settings.frontend_url), _origin_of(settings.public_base_url)}
    host = ctx.request.headers.get("host")
    if host:
        scheme = (ctx.request.headers.get("x-forwarded-proto") or "http").split(",")[0]
        own.add(_origin_of(f"{scheme.strip()}://{host.strip()}"))
    candidate = _origin_of(origin)
    return bool(candidate) and candidate in own


def _origin_of(url: str) -> str:
    """``scheme://host[:port]`` in lower case, without a default port (as browsers send it)."""
    try:
        parts = urlsplit(url.lower())
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and str(port) != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def _foreign_origin() -> errors.Forbidden:
    return errors.Forbidden(
        "This request did not come from Snapboard's own pages.", code="foreign_origin"
    )
