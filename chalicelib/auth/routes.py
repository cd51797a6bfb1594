"""/auth: register, sign in, refresh, sign out, verify the address, reset the password."""

from __future__ import annotations

from http.cookies import CookieError, Morsel, SimpleCookie

from chalice.app import Request

from chalicelib import wire
from chalicelib.auth import service
from chalicelib.auth.models import (
    Accepted,
    LoginIn,
    PasswordResetConfirm,
    PasswordResetIn,
    RefreshIn,
    Registered,
    RegisterIn,
    TokenIn,
    TokenPair,
)
from chalicelib.principal import Principal
from chalicelib.routing import Answer, Context, Router
from chalicelib.sessions import ABSOLUTE_LIFETIME
from chalicelib.users import service as users_service
from chalicelib.users.models import UserPrivate
from chalicelib.users.repository import UserRecord

router = Router(__name__, tag="auth")

COOKIE = "refresh_token"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}


@router.route(
    "/auth/register", "POST", body=RegisterIn, response=Registered, status=201, errors=[409, 429]
)
def register(ctx: Context, *, body: RegisterIn) -> Registered:
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
    return Registered(user=_private(ctx, user))


@router.route("/auth/login", "POST", body=LoginIn, response=TokenPair, errors=[401, 403, 429])
def login(ctx: Context, *, body: LoginIn) -> Answer:
    """Sign in: an access token, and a refresh token in the body and an httpOnly cookie."""
    issued = service.login(
        db=ctx.db,
        clock=ctx.clock,
        password_hasher=ctx.password_hasher,
        rate_limiter=ctx.rate_limiter,
        settings=ctx.settings,
        email=body.email,
        password=body.password,
        client_ip=wire.client_ip(ctx.request),
    )
    return _tokens_response(ctx, issued)


@router.route(
    "/auth/refresh", "POST", body=RefreshIn, body_required=False, response=TokenPair, errors=[401]
)
def refresh(ctx: Context, *, body: RefreshIn) -> Answer:
    """Trade a refresh token (body or cookie) for a new pair; each one works once."""
    token = body.refresh_token or _cookie(ctx.request, COOKIE)
    issued = service.refresh(db=ctx.db, clock=ctx.clock, settings=ctx.settings, token=token)
    return _tokens_response(ctx, issued)


@router.route("/auth/logout", "POST", status=204, auth="user")
def logout(ctx: Context, *, user: Principal) -> Answer:
    """Sign out: this session's refresh tokens stop working and the cookie is cleared."""
    service.logout(db=ctx.db, clock=ctx.clock, principal=user)
    return Answer(headers={"Set-Cookie": _cookie_header(ctx, "", max_age=0)})


@router.route("/auth/verify-email", "POST", body=TokenIn, status=204)
def verify_email(ctx: Context, *, body: TokenIn) -> None:
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
    body=PasswordResetIn,
    response=Accepted,
    status=202,
    errors=[429],
)
def request_password_reset(ctx: Context, *, body: PasswordResetIn) -> Accepted:
    """Mail a reset link; the answer is the same whether or not the account exists."""
    detail = service.request_password_reset(
        db=ctx.db,
        clock=ctx.clock,
        rate_limiter=ctx.rate_limiter,
        mailer=ctx.mailer,
        settings=ctx.settings,
        email=body.email,
    )
    return Accepted(detail=detail)


@router.route("/auth/password-reset/confirm", "POST", body=PasswordResetConfirm, status=204)
def confirm_password_reset(ctx: Context, *, body: PasswordResetConfirm) -> None:
    """Set a new password with the token from the mailed link; every session ends."""
    service.confirm_password_reset(
        db=ctx.db, clock=ctx.clock, password_hasher=ctx.password_hasher, data=body
    )


def authenticate_request(ctx: Context) -> Principal | None:
    """The app's authenticator: the caller behind ``Authorization: Bearer <access token>``."""
    authorization = ctx.request.headers.get("authorization")
    if not authorization:
        return None  # anonymous: nothing to look up, no client to build
    return service.authenticate(
        db=ctx.db, clock=ctx.clock, settings=ctx.settings, authorization=authorization
    )


def _tokens_response(ctx: Context, issued: service.Issued) -> Answer:
    pair = TokenPair(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        user=_private(ctx, issued.user),
    )
    headers: dict[str, str | list[str]] = {}
    if issued.refresh_token is not None:
        max_age = int(ABSOLUTE_LIFETIME.total_seconds())
        headers["Set-Cookie"] = _cookie_header(ctx, issued.refresh_token, max_age=max_age)
    return Answer(pair, headers=headers)


def _private(ctx: Context, user: UserRecord) -> UserPrivate:
    return users_service.render_private(db=ctx.db, image_store=ctx.image_store, records=[user])[0]


def _cookie_header(ctx: Context, value: str, *, max_age: int) -> str:
    """The refresh cookie as a ``Set-Cookie`` value; an empty value with ``max_age=0`` clears it."""
    morsel: Morsel[str] = Morsel()
    # Refresh tokens are URL-safe base64, cookie-octets as they are; the empty
    # value that clears the cookie is written bare (``refresh_token=``), not as "".
    morsel.set(COOKIE, value, SimpleCookie().value_encode(value)[1] if value else "")
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
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None
