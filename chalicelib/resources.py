"""What a request may use, by name: the routes hand each service function its part.

The composition root (``chalicelib.composition``) builds the real ones; tests
build their own. Nothing here says how a client is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from pymongo import MongoClient
    from pymongo.database import Database

    from chalicelib.clock import Clock
    from chalicelib.images.store import ImageStore
    from chalicelib.mail.message import Mailer
    from chalicelib.ratelimit.limiter import RateLimiter
    from chalicelib.settings import Settings


class Resources(Protocol):
    """The settings and clients of one app, each built on first use."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def mongo_client(self) -> MongoClient[dict[str, Any]]: ...

    @property
    def db(self) -> Database[dict[str, Any]]: ...

    @property
    def password_hasher(self) -> PasswordHasher: ...

    @property
    def mailer(self) -> Mailer: ...

    @property
    def rate_limiter(self) -> RateLimiter: ...

    @property
    def image_store(self) -> ImageStore: ...
