"""Account rules: registration, login, refresh rotation, verification, reset, lockout."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import errors, passwords, sessions
from chalicelib.auth import onetime, tokens
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
LOCKOUT_THRESHOLD = 10
LOCKOUT_DURATION = timedelta(minutes=15)
# A refresh token rotated away less than this long ago still yields an access
# token (but no new refresh token): two tabs refreshing at once must not log
# the user out. Outside the window a replay revokes the whole family.
REFRESH_GRACE = timedelta(seconds=10)
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
) -> Issued:
    address = lookup_key(email)
    rate_limiter.hit(limiter.LOGIN_PER_IP, client_ip)
    rate_limiter.hit(limiter.LOGIN_PER_IP_EMAIL, f"{client_ip}|{address}")
    now = clock()
    hasher = password_hasher
    user = user_repository.find_by_email(db=db, email=address)
    if user is None:
        passwords.spend_equal_time(hasher, password)
        raise _bad_credentials()
    if user.locked_until is not None and user.locked_until > now:
        raise errors.RateLimited(
            "Too many failed sign-ins: the account is locked for a while. "
            "Resetting the password unlocks it.",
            retry_after=_seconds_until(user.locked_until, now),
            code="account_locked",
        )
    if not passwords.verify(hasher, user.password_hash, password):
        _count_failure(db, user, now)
        raise _bad_credentials()
    if user.disabled:
        raise errors.Forbidden("This account is disabled.", code="account_disabled")
    fields: dict[str, object] = {}
    if hasher.check_needs_rehash(user.password_hash):
        fields["password_hash"] = hasher.hash(password)
    if user.failed_logins or user.locked_until is not None:
        fields.update(failed_logins=0, locked_until=None)
    if fields:
        user = user_repository.update_fields(db=db, user_id=user.id, fields=fields, now=now) or user
    refresh = tokens.new_secret()
    session = sessions.start(db=db, user_id=user.id, token_hash=tokens.digest(refresh), now=now)
    log.info({"event": "login", "user_id": user.id, "session_id": session.id})
    return _issue(settings, user, session.id, refresh, now)


def _bad_credentials() -> errors.Unauthenticated:
    return errors.Unauthenticated("The email or password is wrong.", code="invalid_credentials")


def _count_failure(db: Db, user: UserRecord, now: datetime) -> None:
    failures = user_repository.count_failed_login(db=db, user_id=user.id)
    if failures >= LOCKOUT_THRESHOLD:
        user_repository.update_fields(
            db=db,
            user_id=user.id,
            fields={"failed_logins": 0, "locked_until": now + LOCKOUT_DURATION},
            now=now,
        )
        log.warning({"event": "account_locked", "user_id": user.id})


def _issue(
    settings: Settings, user: UserRecord, session_id: str, refresh: str | None, now: datetime
) -> Issued:
    access = tokens.issue_access_token(
        secret=settings.jwt_secret.get_secret_value(),
        user_id=user.id,
        session_id=session_id,
        version=user.token_version,
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
    if session is not None and session.is_live(now):
        user = _active_user(db, session, now)
        new_refresh = tokens.new_secret()
        if sessions.rotate(db=db, session=session, new_hash=tokens.digest(new_refresh), now=now):
            return _issue(settings, user, session.id, new_refresh, now)
        # Another request rotated this token a moment ago: judged below as a replay.
    elif session is not None:
        raise errors.Unauthenticated(
            "The session has ended; sign in again.", code="session_expired"
        )
    family = sessions.find_replaced(db=db, token_hash=presented)
    if family is None or not family.is_live(now):
        raise errors.Unauthenticated(
            "The refresh token is not valid.", code="invalid_refresh_token"
        )
    rotated_at = family.rotated_at
    if family.previous_hash == presented and rotated_at and now - rotated_at <= REFRESH_GRACE:
        user = _active_user(db, family, now)
        return _issue(settings, user, family.id, None, now)
    sessions.revoke(db=db, session_id=family.id, reason="reuse", now=now)
    log.warning({"event": "refresh_reuse", "session_id": family.id, "user_id": family.user_id})
    raise errors.Unauthenticated(
        "This refresh token was already used; the session has been ended.",
        code="refresh_token_reused",
    )


def _active_user(db: Db, session: sessions.SessionRecord, now: datetime) -> UserRecord:
    user = user_repository.find_by_id(db=db, user_id=session.user_id)
    if user is None or user.disabled:
        sessions.revoke(db=db, session_id=session.id, reason="disabled", now=now)
        raise errors.Unauthenticated("This account is disabled.", code="account_disabled")
    return user


def logout(*, db: Db, clock: Clock, principal: Principal) -> None:
    if principal.session_id is not None:
        sessions.revoke(db=db, session_id=principal.session_id, reason="logout", now=clock())


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
    # One indexed read per request: a disabled account, a password reset or a
    # role change takes effect at once, not when the token expires.
    user = user_repository.find_by_id(db=db, user_id=claims.user_id)
    if user is None or user.disabled:
        raise errors.Unauthenticated("This account cannot sign in.", code="invalid_token")
    if claims.version != user.token_version:
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
) -> str:
    """Send a reset link if the account exists; the answer never says whether it does."""
    started = time.monotonic()
    address = lookup_key(email)
    rate_limiter.hit(limiter.RESET_PER_EMAIL, address)
    user = user_repository.find_by_email(db=db, email=address)
    if user is not None and not user.disabled:
        token = onetime.issue(db=db, user_id=user.id, purpose="reset_password", now=clock())
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
    remaining = RESET_RESPONSE_FLOOR_SECONDS - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    return RESET_ACCEPTED


def confirm_password_reset(
    *, db: Db, clock: Clock, password_hasher: PasswordHasher, data: PasswordResetConfirm
) -> None:
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
    user_repository.update_fields(
        db=db,
        user_id=user.id,
        fields={
            "password_hash": password_hasher.hash(data.password),
            "failed_logins": 0,
            "locked_until": None,
            # Reset means "someone else may have my password": end every session now.
            "token_version": user.token_version + 1,
            # Following the emailed link proves the address.
            "email_verified": True,
        },
        now=now,
    )
    sessions.revoke_all(db=db, user_id=user.id, reason="password_reset", now=now)
    log.info({"event": "password_reset", "user_id": user.id})


# ------------------------------------------------------------------------- mail


def _send(mailer: Mailer, mail: Mail) -> None:
    try:
        mailer.send(mail)
    except MailError as exc:
        # The account change stands; the user can ask for the mail again.
        log.error({"event": "mail_failed", "reason": str(exc)})


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))
