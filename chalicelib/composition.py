"""The composition root: the app factory and the clients it hands out.

``create_app`` builds the Chalice app; ``Clients`` builds each outside-world
client (MongoDB, the image store, the mailer) lazily, once, from settings.
Nothing else in the project knows how a client is made: features receive
what they use by name, from the routes.

One ``MongoClient`` per process (per Lambda container, per gunicorn worker), as
MongoDB's Lambda guidance asks: it pools connections and is thread-safe.
Nothing is built and no environment variable is read at import time; the
first request pays for what it uses, ``/health`` pays for nothing.

Tests build their own app: ``create_app(Clients(settings, mongo_client=...))``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from chalice.app import Rate

from chalicelib import lazy, logs, middleware
from chalicelib.auth.routes import authenticate_request
from chalicelib.auth.routes import router as auth_router
from chalicelib.clock import Clock, utc_now
from chalicelib.errors import ConfigError
from chalicelib.images.routes import BINARY_TYPES
from chalicelib.images.routes import router as images_router
from chalicelib.posts.routes import router as posts_router
from chalicelib.resources import Resources
from chalicelib.routing import Api
from chalicelib.system.routes import router as system_router
from chalicelib.users.routes import admin_router
from chalicelib.users.routes import router as users_router

# The settings are a pydantic model: the first request that reads them loads it.
if TYPE_CHECKING:
    import secrets
    import shutil
    import tempfile

    from argon2 import PasswordHasher
    from pymongo import MongoClient
    from pymongo.database import Database

    from chalicelib import secrets as stored_secrets
    from chalicelib import settings as config
    from chalicelib.cors import OriginPolicy
    from chalicelib.demo import Seeded
    from chalicelib.images.store import ImageStore
    from chalicelib.mail.message import Mailer
    from chalicelib.ratelimit.limiter import RateLimiter
    from chalicelib.settings import Settings
else:
    stored_secrets = lazy.module("chalicelib.secrets")
    config = lazy.module("chalicelib.settings")
    # Only the embedded store's keys, demo data and reset use them.
    secrets = lazy.module("secrets")
    shutil = lazy.module("shutil")
    tempfile = lazy.module("tempfile")

T = TypeVar("T")

# What the dev backends keep under DATA_DIR, beside the embedded store.
MEDIA_DIR = "media"
OUTBOX_DIR = "outbox"
KEYS_DIR = "keys"

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


class Clients:
    """Holds settings and the clients built from them, each built at most once."""

    def __init__(
        self,
        settings: Settings,
        *,
        mongo_client: MongoClient[dict[str, Any]] | None = None,
        mailer: Mailer | None = None,
        password_hasher: PasswordHasher | None = None,
        clock: Clock | None = None,
        image_store: ImageStore | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or utc_now
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
        return build_mailer(self.settings)

    @property
    def image_store(self) -> ImageStore:
        return self._once("image_store", lambda: build_image_store(self.settings, self.clock))

    def _open_db(self) -> Database[dict[str, Any]]:
        from chalicelib import db

        database = self.mongo_client[self.settings.mongodb_db]
        if self.settings.stage == "dev":
            # Dev applies indexes at first use; production runs `make indexes`
            # as a deploy step so a cold start never builds an index.
            db.ensure_indexes(database)
        return database


def build_mongo_client(settings: Settings) -> MongoClient[dict[str, Any]]:
    if settings.mongodb_uri is None:
        from chalicelib import embedded

        # mongomock, with every write kept under DATA_DIR (chalicelib/embedded.py).
        return embedded.open_client(Path(settings.data_dir))
    from pymongo import MongoClient

    uri = settings.mongodb_uri.get_secret_value()
    options: dict[str, Any] = {"tz_aware": True, "appname": "snapboard"}
    # URI option names are case-insensitive; keyword arguments would override them.
    in_uri = {key.lower() for key, _ in urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query)}
    for name, value in MONGO_CLIENT_DEFAULTS.items():
        if name.lower() not in in_uri:
            options[name] = value
    return MongoClient(uri, **options)


def build_mailer(settings: Settings) -> Mailer:
    """``MAIL_BACKEND`` picks the mailer; boto3 is imported only for SES."""
    if settings.mail_backend == "ses":
        import boto3

        from chalicelib.mail.ses import SesMailer

        return SesMailer(boto3.client("sesv2"), sender=settings.mail_from)
    from chalicelib.mail.outbox import OutboxMailer

    return OutboxMailer(Path(settings.data_dir) / OUTBOX_DIR, sender=settings.mail_from)


def build_image_store(settings: Settings, clock: Clock = utc_now) -> ImageStore:
    """``IMAGE_STORE`` picks the store; each SDK is imported only when chosen."""
    if settings.image_store == "imagekit":
        from chalicelib.images import imagekit

        assert settings.imagekit_private_key  # Settings requires all three for imagekit
        assert settings.imagekit_public_key
        assert settings.imagekit_url_endpoint
        return imagekit.ImageKitStore(
            lambda: imagekit.build_client(settings),
            private_key=settings.imagekit_private_key.get_secret_value(),
            public_key=settings.imagekit_public_key,
            url_endpoint=settings.imagekit_url_endpoint,
            clock=clock,
        )
    import hashlib
    import hmac

    from chalicelib.images.local import LocalStore

    # Its own key for media signatures, derived so a leaked media URL says nothing of JWTs.
    jwt_key = settings.jwt_secret.get_secret_value().encode()
    key = hmac.new(jwt_key, b"snapboard local media", hashlib.sha256).hexdigest()
    # The clients' clock: the one that dates the URLs it checks (the service's).
    return LocalStore(
        Path(settings.data_dir) / MEDIA_DIR,
        base_url=settings.public_base_url,
        signing_key=key,
        clock=clock,
    )


_process: Clients | None = None
_process_lock = threading.Lock()


def process_clients() -> Clients:
    """The process-wide clients, built from ``os.environ`` on first use.

    With ``SECRETS_PARAMETER_PATH`` set, the secrets under that SSM path are
    read here, once per process, before the settings are validated. A failure
    is not remembered: the next request tries again.
    """
    global _process
    if _process is None:
        with _process_lock:
            if _process is None:
                environment = stored_secrets.environment_with_secrets(os.environ)
                settings = config.Settings.from_env(environment)
                _process = Clients(with_kept_dev_keys(settings))
    return _process


def with_kept_dev_keys(settings: Settings) -> Settings:
    """With the embedded store and no ``JWT_SECRET``: the dev key kept beside the store.

    Made once under ``DATA_DIR/keys`` and read back by every later process, so
    sessions and signed media URLs outlive a restart just as the data does (the
    local store's media key is derived from it).
    """
    if not (settings.uses_embedded_mongo and settings.jwt_secret_is_random):
        return settings
    key = kept_secret(Path(settings.data_dir) / KEYS_DIR / "jwt")
    return settings.with_jwt_secret(key)


def kept_secret(path: Path) -> str:
    """A random key made once at ``path`` (owner-only), then read back."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
            file.flush()
            os.fsync(file.fileno())
        # Atomic: of processes starting together, the first to link wins; the others read it.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_text().strip()


def forget_process_clients() -> None:
    """Drop the process-wide clients, so the next use reads the environment again (tests)."""
    global _process
    with _process_lock:
        if _process is not None and "mongo_client" in _process._built:
            _process.mongo_client.close()  # the embedded store lets another owner in
        _process = None


# --------------------------------------------------------------- the app


def create_app(clients: Resources | None = None, *, name: str = "snapboard") -> Api:
    """The Chalice app, serving ``clients`` (default: the process's, read at first use).

    Building it reads no setting and builds no client, so importing ``app.py``
    (a Lambda cold start, a ``/health`` probe) pays for neither.
    """
    resources: Callable[[], Resources] = process_clients if clients is None else lambda: clients
    logs.configure()
    app = Api(name, resources=resources)
    app.register_middleware(
        middleware.build(origin_policy=lambda: _origin_policy(resources)), "http"
    )
    app.authenticator = authenticate_request
    for router in (
        system_router,
        auth_router,
        users_router,
        admin_router,
        posts_router,
        images_router,
    ):
        app.include(router)
    app.install_fallbacks()
    # The bodies API Gateway passes as bytes (base64): uploads and media. Chalice's
    # defaults (audio, video, archives) know neither multipart nor WebP/AVIF, and every
    # request is matched against the whole list, so it holds exactly what we serve.
    app.api.binary_types = list(BINARY_TYPES)

    # On Lambda a function of its own with an EventBridge rule (`chalice package`);
    # on EC2 a systemd timer runs `manage sweep`.
    @app.schedule(Rate(1, unit=Rate.HOURS), name="sweep_images")
    def sweep_images(event: Any) -> None:
        """Hourly on Lambda: expire day-old uploads, retry file deletions and renames,
        delete day-old unregistered direct uploads, return stray attaches."""
        sweep(resources())

    # Invoked once by every Lambda deploy: it runs where the API runs, so it reaches Atlas
    # through the same network path (VPC peering, PrivateLink) a GitHub runner cannot.
    @app.lambda_function(name="ensure_indexes")
    def ensure_indexes(event: Any, context: Any) -> dict[str, list[str]]:
        """Create every declared MongoDB index (idempotent), like ``manage indexes``."""
        from chalicelib import db

        clients = resources()
        return db.ensure_indexes(clients.mongo_client[clients.settings.mongodb_db])

    return app


def _origin_policy(resources: Callable[[], Resources]) -> OriginPolicy | None:
    try:
        return resources().settings.origin_policy
    except ConfigError:
        return None  # the route already answered 500 and logged why


# -------------------------------------------------------- outside a request


def sweep(clients: Resources) -> str:
    """One sweep of the images; returns a one-line summary."""
    from chalicelib.images import service
    from chalicelib.posts import service as posts_service

    now = clients.clock()
    returned = posts_service.release_unwritten(db=clients.db, now=now)
    report = service.sweep(db=clients.db, image_store=clients.image_store, now=now)
    return (
        f"expired {report.expired}, cleaned {report.cleaned}, failed {report.failed}, "
        f"renamed {report.concealed}, unregistered uploads deleted {report.unregistered}, "
        f"returned {returned}"
    )


def seed_demo(clients: Resources, *, posts_count: int | None = None) -> Seeded:
    """Load the demo data set (``posts_count`` posts: the demo's own count by default)."""
    from chalicelib import demo

    return demo.seed(
        settings=clients.settings,
        db=clients.db,
        image_store=clients.image_store,
        password_hasher=clients.password_hasher,
        clock=clients.clock,
        posts_count=demo.POSTS if posts_count is None else posts_count,
    )


def load_demo(clients: Resources) -> Seeded | None:
    """Load the demo data set into an empty database (no accounts); None when it is not empty.

    Into the embedded store it is one transaction: a process killed half-way leaves
    the store empty, and the next start loads it again. The local media folder of
    an empty embedded store can only hold files of such a cut-short load: they go first.
    """
    if clients.db.users.find_one({}, {"_id": 1}) is not None:
        return None
    if not clients.settings.uses_embedded_mongo:
        return seed_demo(clients)
    from chalicelib import embedded

    client = clients.mongo_client
    if not isinstance(client, embedded.EmbeddedClient):  # a test's own stand-in
        return seed_demo(clients)
    if clients.settings.image_store == "local":
        shutil.rmtree(Path(clients.settings.data_dir) / MEDIA_DIR, ignore_errors=True)
    with client.transaction():
        return seed_demo(clients)


def reset_embedded(settings: Settings) -> None:
    """Delete the embedded store and what belongs to it under DATA_DIR: media, outbox, keys.

    Refused (``embedded.StoreInUse``) while a server owns the store.
    """
    from chalicelib import embedded

    data_dir = Path(settings.data_dir)
    with embedded.owned(data_dir, wait_seconds=0):
        embedded.remove(data_dir)
        for name in (MEDIA_DIR, OUTBOX_DIR, KEYS_DIR):
            shutil.rmtree(data_dir / name, ignore_errors=True)
