"""Known devices: a signed cookie saying "this browser has signed in to that account".

Failed sign-ins from clients an account does not know are throttled per email
address, whoever makes them (``limiter.LOGIN_FAILURES_PER_EMAIL``), so anyone can
trip that throttle. A browser that has proved itself, by signing in or by setting
a new password through the mailed reset link, carries this cookie and is judged
by its own failures instead: strangers cannot lock the owner out. This is OWASP's
"device cookie" scheme and NIST SP 800-63B 5.2.2's advice to accept attempts
from where the subscriber has authenticated before.

The cookie is not a credential. It grants a budget of tries of its own, never
access: the password is checked all the same. It is an HS256 JWT under a key
derived for this purpose only, so it can never pass as an access token. It is
bound to the password it was earned with: after a change or a reset, only the
browser that made it (and any that then signs in) is known, not a thief's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib import lazy

# Loaded by the first sign-in; uuid alone brings in platform.
if TYPE_CHECKING:
    import hashlib
    import hmac
    import uuid

    import jwt
else:
    hashlib = lazy.module("hashlib")
    hmac = lazy.module("hmac")
    uuid = lazy.module("uuid")
    jwt = lazy.module("jwt")

COOKIE = "known_device"
LIFETIME = timedelta(days=365)
_ALGORITHM = "HS256"
_AUDIENCE = "snapboard:known-device"


@dataclass(frozen=True)
class Device:
    user_id: str
    device_id: str
    password_tag: str

    def knows(self, *, user_id: str, password_hash: str, secret: str) -> bool:
        """Whether this device signed in to ``user_id`` under its current password."""
        return self.user_id == user_id and hmac.compare_digest(
            self.password_tag, _password_tag(secret, password_hash)
        )


def issue(*, secret: str, user_id: str, password_hash: str, now: datetime) -> str:
    """A new device cookie value for a browser that just proved it belongs to ``user_id``."""
    issued = int(now.timestamp())
    claims = {
        "sub": user_id,
        "pwd": _password_tag(secret, password_hash),
        "jti": uuid.uuid4().hex,
        "aud": _AUDIENCE,
        "iat": issued,
        "exp": issued + int(LIFETIME.total_seconds()),
    }
    return jwt.encode(claims, _key(secret), algorithm=_ALGORITHM)


def read(token: str | None, *, secret: str, now: datetime) -> Device | None:
    """The device a cookie names, if it is genuine and unexpired; None otherwise."""
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            _key(secret),
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            # Expiry is judged against the app's clock, like access tokens.
            options={
                "require": ["sub", "pwd", "jti", "exp"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidTokenError:
        return None
    user_id, tag, device_id, expires = claims["sub"], claims["pwd"], claims["jti"], claims["exp"]
    if not all(isinstance(value, str) for value in (user_id, tag, device_id)):
        return None
    if not isinstance(expires, int | float) or expires <= now.timestamp():
        return None
    return Device(user_id=user_id, device_id=device_id, password_tag=tag)


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"snapboard known devices", hashlib.sha256).digest()


def _password_tag(secret: str, password_hash: str) -> str:
    """Names the password hash without revealing anything of it (the cookie is readable)."""
    return hmac.new(_key(secret), password_hash.encode(), hashlib.sha256).hexdigest()[:32]
