"""Account rules: registration, login and its throttling, refresh rotation, verification, reset."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import errors, passwords, sessions
from chalicelib.auth import devices, onetime, tokens
from chalicelib.auth.models import PasswordResetConfirm, RegisterIn
from chalicelib.clock import Clock
from chalicelib.logs import get_logger
from chalicelib.mail.message import Mail, Mailer, MailError, link_mail
from chalicelib.principal import Principal
from chalicelib.ratelimit import limiter
from chalicelib.ratelimit.limiter import RateLimiter
from chalicelib.settings import Settings
from chalicelib.users import repository as user_repository
from chalicelib.users.emails import lookup_key, normalise_email
from chalicelib.users.repository import UserRecord

if TYPE_CHECKING:
    from argon2 import PasswordHasher

Db = Any

log = get_logger("auth")

USERNAME = re.compile(r"[a-z0-9_]{3,30}")
# Names that would pass for the service or its staff, or read as one of the web
# app's pages (frontend/src/App.tsx) or the API's paths. Usernames are lower-case.
RESERVED_USERNAMES = frozenset(
    {
        # the service and the people who run it
        "admin", "administrator", "root", "system", "support", "help", "staff", "moderator",
        "security", "abuse", "postmaster", "hostmaster", "webmaster", "noreply", "no_reply",
        "snapboard", "official", "everyone", "anonymous", "nobody", "null", "undefined",
        # hosts and the API's own paths
        "www", "api", "mail", "auth", "users", "posts", "images", "media", "docs", "openapi",
        "health", "ready", "static", "assets",
        # the web app's pages
        "new", "edit", "login", "logout", "signin", "signup", "register", "settings",
        "verify_email", "forgot_password", "reset_password", "account", "profile", "feed",
    }
)  # fmt: skip
THROTTLED = (
    "Too many failed sign-ins for this email address. Try again later, sign in on a device "
    "you have used before, or reset the password."
)
# A refresh token rotated away less than this long ago still yields an access
# token (but no new refresh token): two tabs refreshing at once must not log
# the user out. Outside the window a replay revokes the whole family.
REFRESH_GRACE = timedelta(seconds=10)
# A reset link is mailed to one account at most this often; the earlier link still works.
RESET_MAIL_INTERVAL = timedelta(minutes=10)
# Answers to password-reset requests take at least this long, so a known email
# (which writes a token and sends mail) cannot be told from an unknown one by timing.
RESET_RESPONSE_FLOOR_SECONDS = 0.4
RESET_ACCEPTED = "If an account exists for that address, we sent it a link to reset the password."


@dataclass(frozen=True)
class Issued:
    """The outcome of a login or refresh: an access token, maybe a new refresh token."""

    user: UserRecord
    access_token: str
    expires_in: int
    refresh_token: str | None
    # A new known-device cookie (a login proves the device), None on refresh.
    device_token: str | None = None


# ------------------------------------------------------------------ registration


def register(
    *,
    db: Db,
    clock: Clock,
    password_hasher: PasswordHasher,
    rate_limiter: RateLimiter,
    mailer: Mailer,
    settings: Settings,
    data: RegisterIn,
    client_ip: str,
) -> UserRecord:
    rate_limiter.hit(limiter.REGISTER_PER_IP, client_ip)
    email, username = _check_registration(data)
    now = clock()
    try:
        user = user_repository.insert_user(
            db=db,
            email=email,
            username=username,
            password_hash=password_hasher.hash(data.password),
            display_name=(data.display_name or username).strip(),
            now=now,
        )
    except user_repository.DuplicateUser as exc:
        raise errors.Conflict(
            f"That {exc.field} is already registered.", code=f"{exc.field}_taken"
        ) from None
    log.info({"event": "user_registered", "user_id": user.id})
    _send_verification(db=db, clock=clock, mailer=mailer, settings=settings, user=user)
    return user


def _check_registration(data: RegisterIn) -> tuple[str, str]:
    found: list[errors.FieldError] = []
    email = ""
    try:
        email = normalise_email(data.email)
    except errors.InvalidInput as exc:
        found.extend(exc.errors)
    username = data.username.strip().lower()
    if not USERNAME.fullmatch(username):
        found.append(
            errors.FieldError("username", "must be 3-30 characters of a-z, 0-9 and underscore")
        )
    elif username in RESERVED_USERNAMES:
        found.append(errors.FieldError("username", "is reserved; choose another"))
    for problem in passwords.problems(data.password, email=email or data.email, username=username):
        found.append(errors.FieldError("password", problem))
    if found:
        raise errors.InvalidInput.fields(found)
    return email, username


# ------------------------------------------------------------------------ login


def login(
    *,
    db: Db,
    clock: Clock,
    password_hasher: PasswordHasher,
    rate_limiter: RateLimiter,
    settings: Settings,
    email: str,
    password: str,
    client_ip: str,
    device_token: str | None = None,
) -> Issued:
    """Check the password, throttled so that guessing is slow and the owner is never locked out.

    Every limit is keyed by what the caller sent (address, typed email, device
    cookie), never by whether the account exists, and an unknown email costs the
    same argon2 work: known and unknown addresses answer alike at every count.
    Failures from unknown clients are throttled per email address, from any
    address; a known device (``devices``) has a budget of its own instead.
    """
    address = lookup_key(email)
    rate_limiter.hit(limiter.LOGIN_PER_IP, client_ip)
    now = clock()
    hasher = password_hasher
    user = user_repository.find_by_email(db=db, email=address)
    device = _known_device(rate_limiter, settings, device_token, user, now)
    if device is None:
        rate_limiter.hit(limiter.LOGIN_PER_IP_EMAIL, f"{client_ip}|{address}")
        for rule in (limiter.LOGIN_FAILURES_PER_EMAIL, limiter.LOGIN_FAILURES_PER_EMAIL_DAY):
            wait = rate_limiter.exceeded(rule, address)
            if wait is not None:
                raise errors.RateLimited(THROTTLED, retry_after=wait, code="login_throttled")
    if user is None:
        passwords.spend_equal_time(hasher, password)
    if user is None or not passwords.verify(hasher, user.password_hash, password):
        if device is not None:
            rate_limiter.record(limiter.LOGIN_FAILURES_PER_DEVICE, device.device_id)
        else:
            rate_limiter.record(limiter.LOGIN_FAILURES_PER_EMAIL, address)
            rate_limiter.record(limiter.LOGIN_FAILURES_PER_EMAIL_DAY, address)
        raise _bad_credentials()
    if user.disabled:
        raise errors.Forbidden("This account is disabled.", code="account_disabled")
    if hasher.check_needs_rehash(user.password_hash):
        fields = {"password_hash": hasher.hash(password)}
        user = user_repository.update_fields(db=db, user_id=user.id, fields=fields, now=now) or user
    refresh = tokens.new_secret()
    session = sessions.start(db=db, user_id=user.id, token_hash=tokens.digest(refresh), now=now)
    log.info({"event": "login", "user_id": user.id, "session_id": session.id})
    issued = _issue(settings, user, session, refresh, now)
    secret = settings.jwt_secret.get_secret_value()
    device_token = devices.issue(
        secret=secret, user_id=user.id, password_hash=user.password_hash, now=now
    )
    return replace(issued, device_token=device_token)


def _known_device(
    rate_limiter: RateLimiter,
    settings: Settings,
    token: str | None,
    user: UserRecord | None,
    now: datetime,
) -> devices.Device | None:
    """The caller's device, if it has signed in to this account before and has tries left."""
    secret = settings.jwt_secret.get_secret_value()
    device = devices.read(token, secret=secret, now=now)
    if device is None or user is None:
        return None
    if not device.knows(user_id=user.id, password_hash=user.password_hash, secret=secret):
        return None
    if rate_limiter.exceeded(limiter.LOGIN_FAILURES_PER_DEVICE, device.device_id) is not None:
        return None  # it spent its own tries: from now on judged like any stranger
    return device


def _bad_credentials() -> errors.Unauthenticated:
    return errors.Unauthenticated("The email or password is wrong.", code="invalid_credentials")


def _issue(
    settings: Settings,
    user: UserRecord,
    session: sessions.SessionRecord,
    refresh: str | None,
    now: datetime,
) -> Issued:
    access = tokens.issue_access_token(
        secret=settings.jwt_secret.get_secret_value(),
        user_id=user.id,
        session_id=session.id,
        roles=list(user.roles),
        now=now,
    )
    return Issued(
        user=user,
        access_token=access,
        expires_in=int(tokens.ACCESS_TOKEN_TTL.total_seconds()),
        refresh_token=refresh,
    )


# ---------------------------------------------------------------------- refresh


def refresh(*, db: Db, clock: Clock, settings: Settings, token: str | None) -> Issued:
    """Rotate a refresh token: single use, replay revokes the family."""
    if not token:
        raise errors.Unauthenticated("No refresh token was sent.", code="invalid_refresh_token")
    now = clock()
    presented = tokens.digest(token)
    session = sessions.find_current(db=db, token_hash=presented)
    # No access token may outlive its family: the last one is issued a token's
    # lifetime before the family's 30 days end.
    token_ends = now + tokens.ACCESS_TOKEN_TTL
    if session is not None and session.is_live(now) and session.lasts_until(token_ends):
        user = _active_user(db, session, now)
        new_refresh = tokens.new_secret()
        if sessions.rotate(db=db, session=session, new_hash=tokens.digest(new_refresh), now=now):
            return _issue(settings, user, session, new_refresh, now)
        # Another request rotated this token a moment ago: judged below as a replay.
    elif session is not None:
        raise errors.Unauthenticated(
            "The session has ended; sign in again.", code="session_expired"
        )
    family = sessions.find_replaced(db=db, token_hash=presented)
    if family is None or not family.is_live(now) or not family.lasts_until(token_ends):
        raise errors.Unauthenticated(
            "The refresh token is not valid.", code="invalid_refresh_token"
        )
    rotated_at = family.rotated_at
    if family.previous_hash == presented and rotated_at and now - rotated_at <= REFRESH_GRACE:
        user = _active_user(db, family, now)
        return _issue(settings, user, family, None, now)
    sessions.revoke(db=db, user_id=family.user_id, session_id=family.id, reason="reuse", now=now)
    log.warning({"event": "refresh_reuse", "session_id": family.id, "user_id": family.user_id})
    raise errors.Unauthenticated(
        "This refresh token was already used; the session has been ended.",
        code="refresh_token_reused",
    )


def _active_user(db: Db, session: sessions.SessionRecord, now: datetime) -> UserRecord:
    user = user_repository.find_by_id(db=db, user_id=session.user_id)
    if user is None or user.disabled:
        sessions.revoke(
            db=db, user_id=session.user_id, session_id=session.id, reason="disabled", now=now
        )
        raise errors.Unauthenticated("This account is disabled.", code="account_disabled")
    if session.id not in user.session_ids:
        # Ended from the user's side (a newer sign-in pushed it off the list).
        raise errors.Unauthenticated(
            "The session has ended; sign in again.", code="session_expired"
        )
    return user


def logout(*, db: Db, clock: Clock, principal: Principal) -> None:
    if principal.session_id is not None:
        sessions.revoke(
            db=db,
            user_id=principal.id,
            session_id=principal.session_id,
            reason="logout",
            now=clock(),
        )


# --------------------------------------------------------------- access tokens


def authenticate(
    *, db: Db, clock: Clock, settings: Settings, authorization: str | None
) -> Principal | None:
    """The Principal behind an ``Authorization: Bearer`` header (None when absent)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated(
            "Send the access token as a Bearer token.", code="invalid_token"
        )
    claims = tokens.decode_access_token(
        token.strip(), secret=settings.jwt_secret.get_secret_value(), now=clock()
    )
    # One indexed read per request: a disabled account, a role change and an
    # ended session (logout, a replayed refresh token, a password change or
    # reset) take effect at once, not when the token expires.
    user = user_repository.find_by_id(db=db, user_id=claims.user_id)
    if user is None or user.disabled:
        raise errors.Unauthenticated("This account cannot sign in.", code="invalid_token")
    if claims.session_id not in user.session_ids:
        raise errors.Unauthenticated("The session has ended; sign in again.", code="token_revoked")
    return Principal(
        id=user.id,
        username=user.username,
        roles=frozenset(user.roles),
        email_verified=user.email_verified,
        session_id=claims.session_id,
    )


# ---------------------------------------------------------- email verification


def verify_email(*, db: Db, clock: Clock, token: str) -> None:
    now = clock()
    user_id = onetime.consume(db=db, token=token, purpose="verify_email", now=now)
    if user_id is None:
        raise errors.InvalidInput.field("token", "is invalid, expired or already used")
    user_repository.update_fields(db=db, user_id=user_id, fields={"email_verified": True}, now=now)
    log.info({"event": "email_verified", "user_id": user_id})


def resend_verification(
    *,
    db: Db,
    clock: Clock,
    rate_limiter: RateLimiter,
    mailer: Mailer,
    settings: Settings,
    principal: Principal,
) -> None:
    user = user_repository.find_by_id(db=db, user_id=principal.id)
    if user is None:
        raise errors.NotFound("No such user.")
    rate_limiter.hit(limiter.VERIFY_RESEND_PER_EMAIL, user.email)
    if not user.email_verified:
        _send_verification(db=db, clock=clock, mailer=mailer, settings=settings, user=user)


def _send_verification(
    *, db: Db, clock: Clock, mailer: Mailer, settings: Settings, user: UserRecord
) -> None:
    token = onetime.issue(db=db, user_id=user.id, purpose="verify_email", now=clock())
    link = f"{settings.frontend_url}/verify-email?token={token}"
    _send(
        mailer,
        link_mail(
            to=user.email,
            subject="Confirm your email address for Snapboard",
            intro=f"Hi {user.display_name or user.username}, welcome to Snapboard.",
            action="Confirm my email address",
            link=link,
            outro="The link works once and expires in 24 hours. "
            "If you did not sign up, ignore this message.",
        ),
    )


# ---------------------------------------------------------------- password reset


def request_password_reset(
    *,
    db: Db,
    clock: Clock,
    rate_limiter: RateLimiter,
    mailer: Mailer,
    settings: Settings,
    email: str,
    client_ip: str,
) -> str:
    """Send a reset link if the account exists; the answer never says whether it does.

    Requests are limited per requester, never per email: strangers asking for
    someone's reset spend their own quota, not the owner's. What protects the
    owner's inbox is that a new link is mailed at most every ``RESET_MAIL_INTERVAL``,
    and links never cancel each other: whoever asks, a link in the owner's inbox
    keeps working until it expires or one of them is used.
    """
    started = time.monotonic()
    rate_limiter.hit(limiter.RESET_PER_IP, client_ip)
    address = lookup_key(email)
    now = clock()
    user = user_repository.find_by_email(db=db, email=address)
    if user is not None and not user.disabled:
        recent = onetime.issued_since(
            db=db, user_id=user.id, purpose="reset_password", since=now - RESET_MAIL_INTERVAL
        )
        if not recent:
            _send_reset_link(db=db, mailer=mailer, settings=settings, user=user, now=now)
    remaining = RESET_RESPONSE_FLOOR_SECONDS - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    return RESET_ACCEPTED


def _send_reset_link(
    *, db: Db, mailer: Mailer, settings: Settings, user: UserRecord, now: datetime
) -> None:
    token = onetime.issue(
        db=db, user_id=user.id, purpose="reset_password", now=now, keep_earlier=True
    )
    _send(
        mailer,
        link_mail(
            to=user.email,
            subject="Reset your Snapboard password",
            intro="Someone (hopefully you) asked to reset the password of this account.",
            action="Choose a new password",
            link=f"{settings.frontend_url}/reset-password?token={token}",
            outro="The link works once and expires in 1 hour. "
            "If you did not ask for it, ignore this message: your password is unchanged.",
        ),
    )


def confirm_password_reset(
    *,
    db: Db,
    clock: Clock,
    password_hasher: PasswordHasher,
    rate_limiter: RateLimiter,
    settings: Settings,
    data: PasswordResetConfirm,
) -> str:
    """Set the new password; returns a known-device cookie for the browser that did it.

    Following the mailed link proves the inbox, so that browser becomes a known
    device: it signs in on a budget of its own even while strangers keep failing.
    """
    now = clock()
    invalid = errors.InvalidInput.field("token", "is invalid, expired or already used")
    user_id = onetime.holder(db=db, token=data.token, purpose="reset_password", now=now)
    user = None if user_id is None else user_repository.find_by_id(db=db, user_id=user_id)
    if user is None:
        raise invalid
    # A refused password must not spend the link: check it first, then spend
    # the token atomically (a concurrent confirm may have spent it meanwhile).
    passwords.require_acceptable(
        data.password, email=user.email, username=user.username, field="password"
    )
    if onetime.consume(db=db, token=data.token, purpose="reset_password", now=now) != user.id:
        raise invalid
    # The other links mailed meanwhile are void: one reset per set of links.
    onetime.spend_all(db=db, user_id=user.id, purpose="reset_password", now=now)
    password_hash = password_hasher.hash(data.password)
    user_repository.update_fields(
        db=db,
        user_id=user.id,
        fields={
            "password_hash": password_hash,
            # Following the emailed link proves the address.
            "email_verified": True,
        },
        now=now,
    )
    # Reset means "someone else may have my password": end every session now.
    sessions.revoke_all(db=db, user_id=user.id, reason="password_reset", now=now)
    # Guesses at the old password say nothing about the new one.
    rate_limiter.clear(limiter.LOGIN_FAILURES_PER_EMAIL, lookup_key(user.email))
    rate_limiter.clear(limiter.LOGIN_FAILURES_PER_EMAIL_DAY, lookup_key(user.email))
    log.info({"event": "password_reset", "user_id": user.id})
    secret = settings.jwt_secret.get_secret_value()
    return devices.issue(secret=secret, user_id=user.id, password_hash=password_hash, now=now)


# ------------------------------------------------------------------------- mail


def _send(mailer: Mailer, mail: Mail) -> None:
    try:
        mailer.send(mail)
    except MailError as exc:
        # The account change stands; the user can ask for the mail again.
        log.error({"event": "mail_failed", "reason": str(exc)})
