"""Who is calling: the typed value routes and services receive as ``user``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["user", "admin"]
ROLES: frozenset[str] = frozenset(get_args(Role))


@dataclass(frozen=True)
class Principal:
    """An authenticated user, as established from a valid access token."""

    id: str
    username: str
    roles: frozenset[Role]
    email_verified: bool
    # The refresh-token family the access token was issued for (None for test principals).
    session_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles
