"""The process's outside-world clients, built lazily once and cached.

One ``MongoClient`` per process (per Lambda container, per gunicorn worker), as
MongoDB's Lambda guidance asks: it pools connections and is thread-safe.
Nothing is built and no environment variable is read at import time; the
first request pays for what it uses, ``/health`` pays for nothing.

Tests hand in their own: ``install(Services(settings, mongo_client=...))``.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chalicelib.secrets import environment_with_secrets
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from pymongo import MongoClient
    from pymongo.database import Database

    from chalicelib.images.store import ImageStore
    from chalicelib.mail.message import Mailer
    from chalicelib.ratelimit.limiter import RateLimiter

T = TypeVar("T")

# Fail a health probe or a request fast instead of after the driver's 30 s.
SERVER_SELECTION_TIMEOUT_MS = 2_000
CONNECT_TIMEOUT_MS = 2_000
# Driver defaults for a real server; any of them written in the URI wins, so
# operators tune them there. A Lambda container serves one request at a time,
# so a small pool suffices, and many containers times a large pool would eat
# an Atlas tier's connection limit. Idle connections close before a frozen
# container's sockets go stale. Retries cover an Atlas primary election.
MONGO_CLIENT_DEFAULTS: dict[str, Any] = {
    "serverSelectionTimeoutMS": SERVER_SELECTION_TIMEOUT_MS,
    "connectTimeoutMS": CONNECT_TIMEOUT_MS,
    "maxPoolSize": 10,
    "minPoolSize": 0,
    "maxIdleTimeMS": 60_000,
    "retryWrites": True,
    "retryReads": True,
}


class Services:
    """Holds settings and the clients built from them, each built at most once."""

    def __init__(
        self,
        settings: Settings,
        *,
        mongo_client: MongoClient[dict[str, Any]] | None = None,
        mailer: Mailer | None = None,
        password_hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] | None = None,
        image_store: ImageStore | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Callable[[], datetime] = clock or utc_now
        self._lock = threading.RLock()
        self._built: dict[str, Any] = {}
        for name, given in (
            ("mongo_client", mongo_client),
            ("mailer", mailer),
            ("password_hasher", password_hasher),
            ("image_store", image_store),
        ):
            if given is not None:
                self._built[name] = given

    def _once(self, name: str, factory: Callable[[], T]) -> T:
        try:
            return cast(T, self._built[name])
        except KeyError:
            pass
        with self._lock:
            if name not in self._built:
                self._built[name] = factory()
            return cast(T, self._built[name])

    @property
    def mongo_client(self) -> MongoClient[dict[str, Any]]:
        return self._once("mongo_client", lambda: build_mongo_client(self.settings))

    @property
    def db(self) -> Database[dict[str, Any]]:
        return self._once("db", self._open_db)

    @property
    def password_hasher(self) -> PasswordHasher:
        from argon2 import PasswordHasher

        # argon2id with argon2-cffi's RFC 9106 "low memory" defaults (64 MiB, t=3, p=4).
        return self._once("password_hasher", PasswordHasher)

    @property
    def mailer(self) -> Mailer:
        return self._once("mailer", self._build_mailer)

    @property
    def rate_limiter(self) -> RateLimiter:
        from chalicelib.ratelimit.limiter import RateLimiter

        return self._once(
            "rate_limiter", lambda: RateLimiter(self.db.rate_limits, clock=self.clock)
        )

    def _build_mailer(self) -> Mailer:
        if self.settings.mail_backend == "ses":
            import boto3

            from chalicelib.mail.ses import SesMailer

            return SesMailer(boto3.client("sesv2"), sender=self.settings.mail_from)
        from chalicelib.mail.outbox import OutboxMailer

        folder = Path(self.settings.data_dir) / "outbox"
        return OutboxMailer(folder, sender=self.settings.mail_from)

    @property
    def image_store(self) -> ImageStore:
        return self._once("image_store", lambda: build_image_store(self.settings))

    def _open_db(self) -> Database[dict[str, Any]]:
        from chalicelib import db

        database = self.mongo_client[self.settings.mongodb_db]
        if self.settings.stage == "dev":
            # Dev applies indexes at first use; production runs `make indexes`
            # as a deploy step so a cold start never builds an index.
            db.ensure_indexes(database)
        return database


def utc_now() -> datetime:
    """Now, in UTC, at the millisecond precision MongoDB stores.

    Truncating here means a value returned to a client equals the one read back later.
    """
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def build_mongo_client(settings: Settings) -> MongoClient[dict[str, Any]]:
    if settings.mongodb_uri is None:
        import mongomock

        client: MongoClient[dict[str, Any]] = mongomock.MongoClient(tz_aware=True)
        return client
    from pymongo import MongoClient

    uri = settings.mongodb_uri.get_secret_value()
    options: dict[str, Any] = {"tz_aware": True, "appname": "snapboard"}
    # URI option names are case-insensitive; keyword arguments would override them.
    in_uri = {key.lower() for key, _ in urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query)}
    for name, value in MONGO_CLIENT_DEFAULTS.items():
        if name.lower() not in in_uri:
            options[name] = value
    return MongoClient(uri, **options)


def build_image_store(settings: Settings) -> ImageStore:
    """``IMAGE_STORE`` picks the store; each SDK is imported only when chosen."""
    if settings.image_store == "imagekit":
        from chalicelib.images import imagekit

        assert settings.imagekit_public_key
        assert settings.imagekit_url_endpoint
        return imagekit.ImageKitStore(
            imagekit.build_client(settings),
            public_key=settings.imagekit_public_key,
            url_endpoint=settings.imagekit_url_endpoint,
        )
    import hashlib
    import hmac
    from pathlib import Path

    from chalicelib.images.local import LocalStore

    # Its own key for media signatures, derived so a leaked media URL says nothing of JWTs.
    jwt_key = settings.jwt_secret.get_secret_value().encode()
    key = hmac.new(jwt_key, b"snapboard local media", hashlib.sha256).hexdigest()
    return LocalStore(
        Path(settings.data_dir) / "media", base_url=settings.public_base_url, signing_key=key
    )


_current: Services | None = None
_current_lock = threading.Lock()


def current() -> Services:
    """The process-wide services, built from ``os.environ`` on first use.

    With ``SECRETS_PARAMETER_PATH`` set, the secrets under that SSM path are
    read here, once per process, before the settings are validated.
    """
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                _current = Services(Settings.from_env(environment_with_secrets(os.environ)))
    return _current


def install(services: Services | None) -> None:
    """Replace the process-wide services (tests; ``None`` forgets them)."""
    global _current
    with _current_lock:
        _current = services
