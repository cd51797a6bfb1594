"""The development image store: files under ``<DATA_DIR>/media``, served at ``/media/...``.

It behaves like ImageKit wherever the app can tell: the same folder layout,
the same transformation syntax (``?tr=`` or a ``tr:`` path segment), the same
signed-URL scheme (``ik-t``/``ik-s``, HMAC-SHA1 of the URL after the endpoint
plus the expiry), enforced the way production's ImageKit account is set up
("Restrict unsigned URLs" on, docs/deploy.md: an unsigned URL is refused, for
originals and transformations alike), and the same direct-upload signature (HMAC-SHA1 of
``token + expire``, single use), so the service and the frontend take one code
path in development and production.

A local file id is the file's path below the media root: there is no separate
catalogue to keep in step with the files.

Where it is stricter than ImageKit, it is on purpose: a direct upload must
decode as an allowed image (ImageKit stores any file; ``register`` refuses it
there), its upload token names the one folder it may write to, and at most
``max_renders`` variants render at once (more waiting ones get a 503 with
``Retry-After``) so a burst of costly transformations cannot take the
process's every thread.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import io
import os
import re
import secrets
import shutil
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from PIL import Image

from chalicelib import errors, wire
from chalicelib.clock import Clock, utc_now
from chalicelib.images import formats, transform, validation
from chalicelib.images.models import ImageFormat
from chalicelib.images.store import (
    NO_EXPIRY,
    SIGNATURE_PARAM,
    TIMESTAMP_PARAM,
    Delivery,
    Location,
    StoredFile,
    StoreError,
    UnusableImage,
    UploadSignature,
    signed_url,
    upload_signature_for,
    url_signature_for,
)

PUBLIC_KEY = "local"
# Transformed variants kept on disk; the oldest go first past this size.
DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024
# ImageKit refuses an upload signature whose expiry is more than an hour ahead.
MAX_SIGNATURE_LIFETIME = 3600
# Only for URLs signed without an expiry (public posts, avatars): a post that
# stops being public renames its files, so these URLs then answer 404.
IMMUTABLE = "public, max-age=31536000, immutable"
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
# ImageKit's rule for file names: anything but letters, digits, "." and "-" becomes "_".
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9.-]")
_MAX_STEM = 64
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
# Renders at once, and requests allowed to wait for one, per process.
DEFAULT_MAX_RENDERS = 2
DEFAULT_MAX_WAITING_RENDERS = 4
DEFAULT_RENDER_WAIT_SECONDS = 10.0
RENDER_RETRY_AFTER_SECONDS = 2

Renderer = Callable[[bytes, tuple[transform.Step, ...], transform.OutputFormat], bytes]


class LocalStore:
    provider = "local"

    def __init__(
        self,
        root: Path,
        *,
        base_url: str,
        signing_key: str,
        cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
        clock: Clock = utc_now,
        max_renders: int = DEFAULT_MAX_RENDERS,
        max_waiting_renders: int = DEFAULT_MAX_WAITING_RENDERS,
        render_wait_seconds: float = DEFAULT_RENDER_WAIT_SECONDS,
        renderer: Renderer = transform.render,
    ) -> None:
        self.root = root
        self.url_endpoint = f"{base_url.rstrip('/')}/media"
        self.upload_url = f"{self.url_endpoint}/upload"
        self._key = signing_key
        self._cache_root = root / ".cache"
        self._tokens_root = root / ".tokens"
        self._cache_max_bytes = cache_max_bytes
        self._clock = clock
        self._render = renderer
        self._render_slots = _Slots(
            running=max_renders, waiting=max_waiting_renders, wait_seconds=render_wait_seconds
        )

    # ------------------------------------------------------------ the protocol

    def upload(self, *, data: bytes, file_name: str, folder: str) -> StoredFile:
        relative = _safe_relative(folder)
        if relative is None:
            raise StoreError(f"invalid folder {folder!r}")
        # Like ImageKit's useUniqueFileName: the name never overwrites another file.
        target = self.root.joinpath(*relative.parts, _unique_name(file_name))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(target, data)
        except OSError as exc:
            raise StoreError(f"could not write the file: {exc.strerror}") from None
        stored = self.get(str(target.relative_to(self.root).as_posix()))
        if stored is None:  # removed between our write and our read
            raise StoreError("the file vanished after it was written")
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        path = self._file(file_id)
        if path is None or not path.is_file():
            return None
        data = path.read_bytes()
        # The store describes what it holds, image or not; the service decides.
        described = _describe(data)
        kind, width, height = described if described else (None, None, None)
        relative = str(path.relative_to(self.root).as_posix())
        return StoredFile(
            file_id=relative,
            path=f"/{relative}",
            size=len(data),
            mime=formats.MIME_TYPES[kind] if kind else None,
            width=width,
            height=height,
        )

    def delete(self, file_id: str) -> None:
        path = self._file(file_id)
        if path is None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"could not delete the file: {exc.strerror}") from None
        self.purge(f"/{file_id}")

    def purge(self, path: str) -> None:
        try:
            shutil.rmtree(self._cache_dir(path.lstrip("/")))
        except FileNotFoundError:
            return  # no variant of it was ever rendered
        except OSError as exc:
            raise StoreError(f"could not purge the cached variants: {exc.strerror}") from None

    def rename(self, *, file_id: str, path: str, new_name: str) -> Location:
        source = self._file(file_id)
        relative = _safe_relative(file_id)
        if source is None or relative is None or not _SAFE_SEGMENT.fullmatch(new_name):
            raise StoreError("invalid file id or name")
        target = source.with_name(new_name)
        moved = relative.parent / new_name
        try:
            if source.is_file():
                if target.exists():
                    raise StoreError("a file of the new name exists")
                os.rename(source, target)
            elif not target.is_file():
                raise StoreError("no such file")
            # else: an earlier call moved it; finish what it may have left undone.
        except OSError as exc:
            raise StoreError(f"could not rename the file: {exc.strerror}") from None
        self.purge(f"/{file_id}")
        return Location(file_id=str(moved), path=f"/{moved}")

    def url(self, path: str, *, transformation: str = "", expires_in: int | None = None) -> str:
        expire = None if expires_in is None else int(self._clock().timestamp()) + expires_in
        return signed_url(
            self.url_endpoint, path, key=self._key, transformation=transformation, expire=expire
        )

    def unsigned_url(self, path: str) -> str:
        """The plain URL ImageKit's upload API answers with (refused on delivery)."""
        return f"{self.url_endpoint}/{path.lstrip('/')}"

    def upload_signature(self, *, expire: int, folder: str) -> UploadSignature:
        # The token carries the folder, and the signature covers the token: an upload
        # signed for one folder cannot be sent into another.
        token = f"{secrets.token_urlsafe(18)}.{_encode_folder(folder)}"
        return UploadSignature(
            token=token,
            expire=expire,
            signature=upload_signature_for(self._key, token, expire),
            public_key=PUBLIC_KEY,
            url_endpoint=self.url_endpoint,
            upload_url=self.upload_url,
        )

    def clean_copy(self, stored: StoredFile, *, folder: str, file_name: str) -> StoredFile:
        """An upright copy without metadata in ``folder``, as ImageKit makes with ``rt-auto``."""
        path = self._file(stored.file_id)
        if path is None or not path.is_file():
            raise StoreError("the file to copy is gone")
        try:
            image = validation.clean(path.read_bytes(), max_bytes=formats.MAX_DIRECT_UPLOAD_BYTES)
        except errors.DomainError as exc:
            # A bomb, too many frames, or bytes that start like an image and do not decode.
            found = getattr(exc, "errors", ())
            raise UnusableImage(found[0].message if found else exc.detail) from None
        return self.upload(data=image.data, file_name=file_name, folder=folder)

    def files_before(self, *, folder: str, before: dt.datetime, limit: int) -> list[StoredFile]:
        """Files under ``folder`` (any depth) last written before ``before``, oldest first."""
        relative = _safe_relative(folder)
        base = None if relative is None else self.root.joinpath(*relative.parts)
        if base is None or not base.is_dir():
            return []
        cutoff = before.timestamp()
        old = sorted(
            (path.stat().st_mtime, path)
            for path in base.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )
        found: list[StoredFile] = []
        for mtime, path in old:
            if mtime >= cutoff or len(found) == limit:
                break
            file_id = path.relative_to(self.root).as_posix()
            found.append(StoredFile(file_id, f"/{file_id}", path.stat().st_size, None, None, None))
        return found

    # ------------------------------------------------- the direct-upload endpoint

    def accept_direct_upload(
        self,
        *,
        data: bytes,
        file_name: str,
        folder: str,
        token: str,
        expire: str,
        signature: str,
        public_key: str,
    ) -> StoredFile:
        """Check an upload the way ImageKit's upload API does, then store it as sent.

        Stricter than ImageKit in two ways: the file must decode as an allowed
        image (a 422 naming ``file``) and the folder must be the one the token
        was issued for.
        """
        now = int(self._clock().timestamp())
        expires_at = wire.parse_decimal(expire)
        if public_key != PUBLIC_KEY or expires_at is None:
            raise errors.Forbidden("The upload is not signed for this store.", code="bad_signature")
        expected = upload_signature_for(self._key, token, expires_at)
        if not _same_signature(expected, signature):
            raise errors.Forbidden("The upload signature is invalid.", code="bad_signature")
        if not now <= expires_at <= now + MAX_SIGNATURE_LIFETIME:
            raise errors.Forbidden("The upload signature has expired.", code="signature_expired")
        signed_folder = _decode_folder(token)
        if signed_folder is None or signed_folder.strip("/") != folder.strip("/"):
            raise errors.Forbidden(
                "The upload is not signed for this folder.", code="folder_not_allowed"
            )
        # Decoding checks the content (never the name or the declared type); empty files,
        # HTML and SVG are refused here. The bytes are stored as sent, like ImageKit does:
        # `register` makes the clean copy that gets published.
        validation.clean(data, field="file", max_bytes=formats.MAX_DIRECT_UPLOAD_BYTES)
        self._spend(token)
        try:
            return self.upload(data=data, file_name=file_name, folder=signed_folder)
        except StoreError:
            raise errors.InvalidInput.field("folder", "The folder is not valid.") from None

    def _spend(self, token: str) -> None:
        """Tokens are single use: an exclusive create is atomic across processes."""
        self._tokens_root.mkdir(parents=True, exist_ok=True)
        marker = self._tokens_root / hashlib.sha256(token.encode()).hexdigest()
        try:
            marker.touch(exist_ok=False)
        except FileExistsError:
            raise errors.Forbidden(
                "This upload token was already used.", code="token_used"
            ) from None

    # ---------------------------------------------------------------- delivery

    def deliver(
        self,
        segments: list[str],
        query: Mapping[str, str],
        *,
        accept: str = "",
        if_none_match: str | None = None,
    ) -> Delivery:
        """Answer ``GET /media/<segments>?<query>`` like ImageKit answers the same URL."""
        path_tr = ""
        if segments and segments[0].startswith("tr:"):
            path_tr, segments = segments[0].removeprefix("tr:"), segments[1:]
        query_tr = query.get("tr", "")
        if path_tr and query_tr:
            raise errors.BadRequest("Give the transformation once: path or query.", code="bad_tr")
        signed_part = "/".join(([f"tr:{path_tr}"] if path_tr else []) + segments)
        if query_tr:
            signed_part += f"?tr={query_tr}"
        cache_control = self._check_signature(signed_part, query)
        file_id = "/".join(segments)
        path = self._file(file_id)
        if path is None or not path.is_file():
            raise errors.NotFound("No such file.")
        try:
            steps = transform.parse(path_tr or query_tr)
        except transform.TransformError as exc:
            raise errors.BadRequest(str(exc), code="bad_transformation") from None
        if not steps:
            body = path.read_bytes()
            kind = _format_of(body)
            content_type = formats.MIME_TYPES[kind] if kind else "application/octet-stream"
            vary = False
        else:
            body, output = self._variant(file_id, path, steps, accept)
            content_type = transform.CONTENT_TYPES[output]
            vary = any(step.format == "auto" for step in steps)
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        not_modified = wire.none_match(if_none_match, etag)
        return Delivery(
            body=b"" if not_modified else body,
            content_type=content_type,
            etag=etag,
            cache_control=cache_control,
            vary_accept=vary,
            not_modified=not_modified,
        )

    def _check_signature(self, signed_part: str, query: Mapping[str, str]) -> str:
        """Refuse any URL without a valid, unexpired signature; return its Cache-Control."""
        signature, expire = query.get(SIGNATURE_PARAM), query.get(TIMESTAMP_PARAM)
        if signature is None:
            raise errors.Forbidden("This URL is not signed.", code="unsigned_url")
        expires_at = NO_EXPIRY if expire is None else wire.parse_decimal(expire)
        if expires_at is None:
            raise errors.Forbidden("The URL signature is incomplete.", code="bad_signature")
        expected = url_signature_for(self._key, signed_part, expires_at)
        if not _same_signature(expected, signature):
            raise errors.Forbidden("The URL signature is invalid.", code="bad_signature")
        if expires_at == NO_EXPIRY:
            return IMMUTABLE
        remaining = expires_at - int(self._clock().timestamp())
        if remaining < 0:
            raise errors.Forbidden("The signed URL has expired.", code="signature_expired")
        # Never `public`: no shared cache may keep it, and the browser only until it expires.
        return f"private, max-age={remaining}"

    def _variant(
        self, file_id: str, path: Path, steps: tuple[transform.Step, ...], accept: str
    ) -> tuple[bytes, transform.OutputFormat]:
        data = path.read_bytes()
        size = transform.upright_size(data)
        output = transform.negotiate(steps, _format_of(data) or "png", accept, size=size)
        key = hashlib.sha256(f"{transform.canonical(steps)}|{output}".encode()).hexdigest()
        cached = self._cache_dir(file_id) / key
        if cached.is_file():
            return cached.read_bytes(), output
        with self._render_slots.held():
            try:
                body = self._render(data, steps, output)
            except transform.TransformError as exc:  # the output would be too large
                raise errors.BadRequest(str(exc), code="bad_transformation") from None
            except Exception:  # a stored file that does not decode (see validation's docstring)
                raise errors.BadRequest(
                    "The file cannot be transformed.", code="bad_transformation"
                ) from None
        cached.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(cached, body)
        self._trim_cache()
        return body, output

    def _trim_cache(self) -> None:
        """Keep the variant cache under its size bound, dropping the oldest first.

        Other renders write and rename their files meanwhile (a temporary file gone
        between listing and ``stat``): a file that is no longer there is no longer counted.
        """
        files = []
        for path in self._cache_root.rglob("*"):
            try:
                found = path.stat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(found.st_mode):
                files.append((found.st_mtime, found.st_size, path))
        files.sort(key=lambda entry: entry[0])
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            if total <= self._cache_max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size

    # ----------------------------------------------------------------- helpers

    def _file(self, file_id: str) -> Path | None:
        relative = _safe_relative(file_id)
        return None if relative is None else self.root.joinpath(*relative.parts)

    def _cache_dir(self, file_id: str) -> Path:
        return self._cache_root / hashlib.sha256(file_id.encode()).hexdigest()[:32]


class _Slots:
    """At most ``running`` holders at once; up to ``waiting`` more wait, the rest are refused.

    Refusing at once beyond the queue keeps threads free for every other request
    (``/health`` included) however many renders are asked for.
    """

    def __init__(self, *, running: int, waiting: int, wait_seconds: float) -> None:
        self._running = threading.BoundedSemaphore(running)
        self._admitted = threading.BoundedSemaphore(running + waiting)
        self._wait_seconds = wait_seconds

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if not self._admitted.acquire(blocking=False):
            raise _busy()
        try:
            if not self._running.acquire(timeout=self._wait_seconds):
                raise _busy()
            try:
                yield
            finally:
                self._running.release()
        finally:
            self._admitted.release()


def _busy() -> errors.Unavailable:
    return errors.Unavailable(
        "Too many images are being rendered right now; try again shortly.",
        retry_after=RENDER_RETRY_AFTER_SECONDS,
        code="render_busy",
    )


def _unique_name(file_name: str) -> str:
    """A file name of plain characters with a random suffix; never hidden, never a path.

    ImageKit replaces every character but letters, digits, "." and "-" with "_";
    here, besides, leading dots go and the stem and extension are bounded, so any
    name a client sends (``../x.png``, ``..``, a 10,000-character extension) gives a
    safe segment.
    """
    stem, dot, ext = _UNSAFE_NAME_CHARS.sub("_", file_name).rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = stem.strip(".")[:_MAX_STEM] or "file"
    suffix = f".{ext.lower()}" if _EXTENSION.fullmatch(ext) else ""
    return f"{stem}_{secrets.token_hex(6)}{suffix}"


def _encode_folder(folder: str) -> str:
    return base64.urlsafe_b64encode(folder.encode()).decode().rstrip("=")


def _decode_folder(token: str) -> str | None:
    _, dot, encoded = token.rpartition(".")
    if not dot or not encoded.isascii():
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _same_signature(expected: str, given: str) -> bool:
    """Constant-time, and False (not TypeError) for a signature with non-ASCII characters."""
    return given.isascii() and hmac.compare_digest(expected, given)


def _safe_relative(path: str) -> PurePosixPath | None:
    """A path below the media root: plain segments, none hidden, no ``..``."""
    parts = [part for part in path.strip("/").split("/") if part]
    if not parts or not all(_SAFE_SEGMENT.fullmatch(part) for part in parts):
        return None
    return PurePosixPath(*parts)


def _format_of(data: bytes) -> ImageFormat | None:
    described = _describe(data)
    return described[0] if described else None


def _describe(data: bytes) -> tuple[ImageFormat, int, int] | None:
    """Format, width and height from the header; None for what is not an allowed image."""
    try:
        with Image.open(io.BytesIO(data), formats=list(validation.ALLOWED_FORMATS)) as image:
            return validation.ALLOWED_FORMATS[str(image.format)], image.width, image.height
    except Exception:  # whatever a crafted file trips (see validation's docstring)
        return None


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)
