"""Password rules and hashing (argon2id via argon2-cffi).

A leaf: accounts (auth) and the password change (users) both check passwords here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib import errors, lazy

if TYPE_CHECKING:
    import argon2.exceptions
    from argon2 import PasswordHasher
else:
    argon2 = lazy.module("argon2")

MIN_LENGTH = 10
# argon2 hashes any length, but a megabyte "password" is a denial of service.
MAX_LENGTH = 256

_COMMON = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def problems(password: str, *, email: str, username: str) -> list[str]:
    """Why ``password`` is not acceptable for this account (empty when it is)."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        found.append(f"must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords():
        found.append("is too common; choose something less guessable")
    local_part = email.partition("@")[0]
    if lowered in {email.lower(), username.lower(), local_part.lower()}:
        found.append("must not be your email address or username")
    return found


def require_acceptable(password: str, *, email: str, username: str, field: str) -> None:
    """Raise ``InvalidInput`` on ``field`` naming every rule ``password`` breaks."""
    found = problems(password, email=email, username=username)
    if found:
        raise errors.InvalidInput.fields([errors.FieldError(field, p) for p in found])


def verify(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password-used-for-timing")


def spend_equal_time(hasher: PasswordHasher, password: str) -> None:
    """Verify against a throwaway hash so unknown accounts cost what known ones do."""
    verify(hasher, _dummy_hash(hasher), password)
