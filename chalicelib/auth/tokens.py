"""Access tokens: short-lived HS256 JWTs (PyJWT), and opaque random secrets.

Refresh, verification and reset tokens are opaque random strings; only their
SHA-256 is stored. They carry 256 bits of entropy, so a fast hash is enough:
nobody can brute-force the preimage, and lookups stay indexable.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib import errors, lazy

if TYPE_CHECKING:
    import jwt
else:
    jwt = lazy.module("jwt")

ALGORITHM = "HS256"
ACCESS_TOKEN_TTL = timedelta(minutes=15)
# Tolerated difference between the clocks of the machines that issue and check tokens.
CLOCK_SKEW = timedelta(seconds=30)
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "sid"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str


def issue_access_token(
    *, secret: str, user_id: str, session_id: str, roles: list[str], now: datetime
) -> str:
    """A token for one family (``sid``): it works while the family is on the user's list."""
    issued = int(now.timestamp())
    claims = {
        "sub": user_id,
        "sid": session_id,
        "roles": roles,
        "iat": issued,
        "exp": issued + int(ACCESS_TOKEN_TTL.total_seconds()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str, now: datetime) -> AccessClaims:
    """Verify signature, algorithm and lifetime; raise ``Unauthenticated`` otherwise.

    PyJWT checks the signature; the lifetime is checked against ``now`` (the
    app's one clock) so the whole app agrees on what time it is.
    """
    invalid = errors.Unauthenticated("The access token is not valid.", code="invalid_token")
    try:
        claims = jwt.decode(
            token,
            secret,
            # Only the algorithm we sign with: refuses "none" and key-confusion tricks.
            algorithms=[ALGORITHM],
            options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise invalid from None
    roles, issued, expires = claims.get("roles", []), claims["iat"], claims["exp"]
    if (
        not isinstance(claims["sub"], str)
        or not isinstance(roles, list)
        or not isinstance(issued, int | float)
        or not isinstance(expires, int | float)
        or not isinstance(claims["sid"], str)
    ):
        raise invalid
    moment = now.timestamp()
    if issued > moment + CLOCK_SKEW.total_seconds():
        raise invalid
    if expires <= moment:
        raise errors.Unauthenticated(
            "The access token has expired; refresh it.", code="token_expired"
        )
    return AccessClaims(
        user_id=claims["sub"],
        session_id=claims["sid"],
    )


def new_secret() -> str:
    """An opaque, URL-safe token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
