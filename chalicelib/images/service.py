"""Image rules: what may be stored, who may see and change it, and that nothing is orphaned.

Lifecycle: an uploaded image is ``pending`` until a post or an avatar attaches
it. Deleting an image, releasing it from a post or replacing an avatar marks
the record ``deleted`` with ``cleanup_pending``; the file is then deleted from
the store and its CDN cache purged, and the record removed. When the store
fails, the record stays marked and ``sweep`` retries it later: the user is
never blocked by the store. ``sweep`` also expires ``pending`` images older
than a day.

The posts feature calls ``attach``, ``release``, ``find_many`` and ``to_public``;
posts' authors and user profiles get their avatars from ``find_many`` and ``avatar``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib import errors
from chalicelib.clock import Clock
from chalicelib.images import repository, validation
from chalicelib.images.local import Delivery, LocalStore
from chalicelib.images.models import (
    AvatarPublic,
    AvatarUrls,
    ImageFormat,
    ImagePublic,
    ImageRecord,
    ImageVariants,
    UploadAuth,
)
from chalicelib.images.store import ImageStore, StoredFile, StoreError
from chalicelib.logs import get_logger
from chalicelib.principal import Principal

Db = Any

log = get_logger("images")

FOLDER_ROOT = "/snapboard/users"
PENDING_TTL = dt.timedelta(hours=24)
SIGNED_URL_TTL_SECONDS = 3600
UPLOAD_AUTH_TTL_SECONDS = 30 * 60
# Direct uploads skip the API's body limit (Lambda's); ImageKit's free plan allows 25 MB.
MAX_DIRECT_UPLOAD_BYTES = 25 * 1024 * 1024
SWEEP_BATCH = 500

VARIANTS = {
    "thumb": "w-320,h-320,f-auto",
    "card": "w-640,f-auto",
    "full": "w-1600,h-1600,c-at_max,f-auto",
}
SRCSET_WIDTHS = (320, 640, 960, 1280, 1600)
PLACEHOLDER = "w-32,q-50,bl-30,f-auto"
AVATAR_SIZES = {"small": 48, "medium": 96, "large": 256}
_FORMAT_BY_MIME: dict[str, ImageFormat] = {
    mime: kind for kind, mime in validation.MIME_TYPES.items()
}


@dataclass(frozen=True)
class SweepReport:
    expired: int  # pending images past their day, now deleted
    cleaned: int  # files deleted from the store and purged
    failed: int  # still awaiting clean-up; the next sweep retries them


def folder_for(user_id: str) -> str:
    return f"{FOLDER_ROOT}/{user_id}"


# ------------------------------------------------------------------- uploads


def upload(
    *,
    db: Db,
    image_store: ImageStore,
    clock: Clock,
    user: Principal,
    data: bytes,
    alt: str | None,
) -> ImagePublic:
    """Validate by decoding, store a clean copy, record it as ``pending``."""
    image = validation.clean(data)
    store = image_store
    name = f"{uuid.uuid4().hex}.{validation.EXTENSIONS[image.format]}"
    try:
        stored = store.upload(data=image.data, file_name=name, folder=folder_for(user.id))
    except StoreError as exc:
        log.warning({"event": "image_upload_failed", "reason": str(exc)})
        raise errors.UpstreamFailed(
            "The image store failed; nothing was saved. Try again.", code="image_store_failed"
        ) from None
    record = _record_or_undo(
        db,
        clock,
        store,
        stored,
        owner_id=user.id,
        width=image.width,
        height=image.height,
        format=image.format,
        alt=alt,
    )
    return to_public(record, store=store, signed=True)


def upload_auth(*, image_store: ImageStore, clock: Clock, user: Principal) -> UploadAuth:
    """Parameters for one direct browser upload into the caller's folder."""
    expire = int(clock().timestamp()) + UPLOAD_AUTH_TTL_SECONDS
    signed = image_store.upload_signature(expire=expire)
    return UploadAuth(
        token=signed.token,
        expire=signed.expire,
        signature=signed.signature,
        public_key=signed.public_key,
        url_endpoint=signed.url_endpoint,
        folder=folder_for(user.id),
        upload_url=signed.upload_url,
    )


def register(
    *,
    db: Db,
    image_store: ImageStore,
    clock: Clock,
    user: Principal,
    file_id: str,
    alt: str | None,
) -> ImagePublic:
    """Adopt a directly uploaded file after the store confirmed what it is and where."""
    store = image_store
    try:
        stored = store.get(file_id)
    except StoreError as exc:
        log.warning({"event": "image_lookup_failed", "reason": str(exc)})
        raise errors.UpstreamFailed("The image store failed. Try again.") from None
    # One answer for "no such file" and "someone else's file": ids reveal nothing.
    if stored is None or not stored.path.startswith(folder_for(user.id) + "/"):
        raise errors.InvalidInput.field("file_id", "No such file in your upload folder.")
    problem = _direct_upload_problem(stored)
    if problem is not None:
        # The file is the caller's and no record will ever point at it.
        _delete_quietly(store, stored.file_id)
        raise errors.InvalidInput.field("file_id", problem)
    assert stored.mime is not None
    assert stored.width
    assert stored.height
    record = _record_or_undo(
        db,
        clock,
        store,
        stored,
        owner_id=user.id,
        width=stored.width,
        height=stored.height,
        format=_FORMAT_BY_MIME[stored.mime],
        alt=alt,
    )
    return to_public(record, store=store, signed=True)


def _direct_upload_problem(stored: StoredFile) -> str | None:
    if stored.mime not in _FORMAT_BY_MIME or not stored.width or not stored.height:
        return "Not a JPEG, PNG, WebP, GIF or AVIF image."
    if stored.size > MAX_DIRECT_UPLOAD_BYTES:
        return f"The file is larger than {MAX_DIRECT_UPLOAD_BYTES} bytes."
    if stored.width * stored.height > validation.MAX_PIXELS:
        return f"The image has more than {validation.MAX_PIXELS // 1_000_000} megapixels."
    return None


def _record_or_undo(
    db: Db,
    clock: Clock,
    store: ImageStore,
    stored: StoredFile,
    *,
    owner_id: str,
    width: int,
    height: int,
    format: ImageFormat,
    alt: str | None,
) -> ImageRecord:
    """Record a stored file; if the database fails, delete the file again (compensation)."""
    try:
        return repository.insert(
            db,
            owner_id=owner_id,
            provider=store.provider,
            file_id=stored.file_id,
            path=stored.path,
            width=width,
            height=height,
            format=format,
            size=stored.size,
            alt=alt,
            now=clock(),
        )
    except errors.Unavailable:
        _delete_quietly(store, stored.file_id)
        raise


def _delete_quietly(store: ImageStore, file_id: str) -> None:
    try:
        store.delete(file_id)
    except StoreError as exc:
        # Nothing in the database points at it: only the log can tell an operator.
        log.error({"event": "image_orphaned", "file_id": file_id, "reason": str(exc)})


# ------------------------------------------------------------ owner actions


def get_image(*, db: Db, image_store: ImageStore, user: Principal, image_id: str) -> ImagePublic:
    record = _owned(db, user, image_id)
    return to_public(record, store=image_store, signed=True)


def update_alt(
    *, db: Db, image_store: ImageStore, user: Principal, image_id: str, alt: str | None
) -> ImagePublic:
    """Set the alt text; posts render it from the image, so each shows the new text."""
    record = _owned(db, user, image_id)
    updated = repository.set_alt(db, record.id, alt=alt)
    if updated is None:  # deleted since we read it
        raise errors.NotFound("No such image.")
    return to_public(updated, store=image_store, signed=True)


def delete_image(
    *, db: Db, image_store: ImageStore, clock: Clock, user: Principal, image_id: str
) -> None:
    """Delete an unused image; one in use by a post or as an avatar is a conflict."""
    record = _owned(db, user, image_id)
    if record.status == "attached":
        raise _in_use(record)
    marked = repository.discard(db, image_ids=[record.id], only_pending=True)
    if not marked:
        raise errors.Conflict("The image was just attached to a post.", code="image_in_use")
    _clean_up(db, image_store, marked, now=clock())


def _owned(db: Db, user: Principal, image_id: str) -> ImageRecord:
    """The image, if the caller owns it (or is an admin); anyone else gets a plain 404."""
    record = repository.get(db, image_id)
    if record is None or (record.owner_id != user.id and not user.is_admin):
        raise errors.NotFound("No such image.")
    return record


def _in_use(record: ImageRecord) -> errors.Conflict:
    used_by = "your avatar" if record.avatar_of else "a post"
    return errors.Conflict(f"The image is in use by {used_by}.", code="image_in_use")


# ------------------------------------------------------- the posts contract


def attach(*, db: Db, clock: Clock, owner_id: str, image_ids: Sequence[str], post_id: str) -> None:
    """Attach images to a post: all of them or, with a field error per bad id, none."""
    found = repository.find_many(db, image_ids)
    problems: list[errors.FieldError] = []
    seen: set[str] = set()
    to_attach: list[str] = []
    for index, image_id in enumerate(image_ids):
        record = found.get(image_id)
        message = None
        if image_id in seen:
            message = "This image is listed twice."
        elif record is None or record.owner_id != owner_id:
            message = "No such image among your uploads."
        elif record.status == "attached" and record.post_id != post_id:
            message = "This image is already in use."
        seen.add(image_id)
        if message is not None:
            problems.append(errors.FieldError(f"image_ids.{index}", message))
        elif record is not None and record.status == "pending":
            to_attach.append(image_id)
    if problems:
        raise _bad_images(problems)
    if not to_attach:
        return
    stamp = uuid.uuid4().hex
    matched = repository.attach_pending(
        db, image_ids=to_attach, owner_id=owner_id, post_id=post_id, stamp=stamp, now=clock()
    )
    if matched != len(to_attach):
        # Someone changed one of them between our read and our write: undo ours.
        repository.undo_attach(db, stamp=stamp)
        current = repository.find_many(db, to_attach)
        problems = [
            errors.FieldError(f"image_ids.{list(image_ids).index(i)}", "This image just changed.")
            for i in to_attach
            if i not in current or current[i].status != "pending"
        ]
        raise _bad_images(problems)


def _bad_images(problems: list[errors.FieldError]) -> errors.InvalidInput:
    return errors.InvalidInput.fields(problems)


def detach(*, db: Db, image_ids: Sequence[str], post_id: str) -> None:
    """Undo ``attach`` for a post whose write failed: the images are unattached uploads again."""
    repository.detach(db, image_ids=image_ids, post_id=post_id)


def release(
    *, db: Db, image_store: ImageStore, clock: Clock, image_ids: Sequence[str], post_id: str
) -> None:
    """The post no longer uses these images: delete them; store failures wait for the sweep."""
    marked = repository.discard(db, image_ids=image_ids, post_id=post_id)
    _clean_up(db, image_store, marked, now=clock())


def find_many(*, db: Db, image_ids: Sequence[str]) -> dict[str, ImageRecord]:
    """Live images by id, in one query."""
    return repository.find_many(db, image_ids)


def to_public(record: ImageRecord, *, store: ImageStore, signed: bool) -> ImagePublic:
    """The wire shape: absolute URLs, signed and expiring when ``signed``."""
    expires_in = SIGNED_URL_TTL_SECONDS if signed else None

    def url(transformation: str = "") -> str:
        return store.url(record.path, transformation=transformation, expires_in=expires_in)

    widths = [w for w in SRCSET_WIDTHS if w <= record.width] or [record.width]
    return ImagePublic(
        id=record.id,
        width=record.width,
        height=record.height,
        format=record.format,
        size=record.size,
        alt=record.alt,
        url=url(),
        variants=ImageVariants(**{name: url(tr) for name, tr in VARIANTS.items()}),
        srcset=", ".join(f"{url(f'w-{w},f-auto')} {w}w" for w in widths),
        placeholder=url(PLACEHOLDER),
    )


# ------------------------------------------------------------------ avatars


def avatar_urls(record: ImageRecord, *, store: ImageStore) -> dict[str, str]:
    """Square crops for profiles; avatars are public, so the URLs are not signed."""
    return {
        name: store.url(record.path, transformation=f"w-{size},h-{size},f-auto")
        for name, size in AVATAR_SIZES.items()
    }


def avatar(
    image_id: str | None, *, found: Mapping[str, ImageRecord], store: ImageStore
) -> AvatarUrls | None:
    """A user's avatar from images fetched in one batch by ``find_many``.

    None when the user has none, or when its image is gone.
    """
    record = found.get(image_id) if image_id else None
    return None if record is None else AvatarUrls(**avatar_urls(record, store=store))


def set_avatar(
    *, db: Db, image_store: ImageStore, clock: Clock, user: Principal, image_id: str
) -> AvatarPublic:
    """Make one of the caller's unused images their avatar; the previous one is deleted."""
    if not repository.claim_for_avatar(db, image_id=image_id, owner_id=user.id, user_id=user.id):
        raise errors.InvalidInput.field("image_id", "No such unused image among your uploads.")
    found, previous = repository.set_user_avatar(db, user_id=user.id, image_id=image_id)
    if not found:
        repository.unclaim_avatar(db, image_id=image_id, user_id=user.id)
        raise errors.NotFound("No such user.")
    if previous is not None and previous != image_id:
        _release_avatar(db, image_store, clock, user, previous)
    record = repository.get(db, image_id)
    if record is None:  # deleted in between by an admin
        raise errors.NotFound("No such image.")
    urls = AvatarUrls(**avatar_urls(record, store=image_store))
    return AvatarPublic(image_id=record.id, urls=urls)


def clear_avatar(*, db: Db, image_store: ImageStore, clock: Clock, user: Principal) -> None:
    found, previous = repository.set_user_avatar(db, user_id=user.id, image_id=None)
    if not found:
        raise errors.NotFound("No such user.")
    if previous is not None:
        _release_avatar(db, image_store, clock, user, previous)


def _release_avatar(
    db: Db, image_store: ImageStore, clock: Clock, user: Principal, image_id: str
) -> None:
    marked = repository.discard(db, image_ids=[image_id], avatar_of=user.id)
    _clean_up(db, image_store, marked, now=clock())


# -------------------------------------------------------------- clean-up


def sweep(*, db: Db, image_store: ImageStore, now: dt.datetime) -> SweepReport:
    """Expire day-old pending images and retry every clean-up the store refused."""
    expired = repository.expire_pending(db, created_before=now - PENDING_TTL, limit=SWEEP_BATCH)
    due = repository.awaiting_cleanup(db, limit=SWEEP_BATCH)
    cleaned, failed = _clean_up(db, image_store, due, now=now)
    report = SweepReport(expired=len(expired), cleaned=cleaned, failed=failed)
    log.info({"event": "image_sweep", **report.__dict__})
    return report


def _clean_up(
    db: Db, store: ImageStore, records: Sequence[ImageRecord], *, now: dt.datetime
) -> tuple[int, int]:
    """Delete each file and purge its cache; a failure leaves the record for the sweep."""
    cleaned = failed = 0
    for record in records:
        try:
            store.delete(record.file_id)
            store.purge(record.path)
        except StoreError as exc:
            failed += 1
            log.warning(
                {"event": "image_cleanup_failed", "image_id": record.id, "reason": str(exc)}
            )
            # If even this fails the record is still cleanup_pending: the sweep finds it.
            with contextlib.suppress(errors.DomainError):
                repository.cleanup_failed(db, record.id, reason=str(exc), now=now)
            continue
        repository.forget(db, record.id)
        cleaned += 1
    return cleaned, failed


# ------------------------------------------------------- the local store only


def _local_store(store: ImageStore) -> LocalStore:
    if not isinstance(store, LocalStore):
        raise errors.NotFound("No such resource.")
    return store


def deliver_media(
    *,
    image_store: ImageStore,
    segments: list[str],
    query: dict[str, str],
    accept: str,
    if_none_match: str | None,
) -> Delivery:
    """``GET /media/...``: what ImageKit would answer for the same URL."""
    return _local_store(image_store).deliver(
        segments, query, accept=accept, if_none_match=if_none_match
    )


_DIRECT_UPLOAD_FIELDS = ("fileName", "token", "expire", "signature", "publicKey")


def local_direct_upload(
    *, image_store: ImageStore, data: bytes, fields: dict[str, str]
) -> dict[str, Any]:
    """``POST /media/upload``: ImageKit's upload API, answered in ImageKit's shape."""
    store = _local_store(image_store)
    missing = [name for name in _DIRECT_UPLOAD_FIELDS if not fields.get(name)]
    if missing:
        raise _bad_images([errors.FieldError(name, "This field is required.") for name in missing])
    stored = store.accept_direct_upload(
        data=data,
        file_name=fields["fileName"],
        folder=fields.get("folder", "/"),
        token=fields["token"],
        expire=fields["expire"],
        signature=fields["signature"],
        public_key=fields["publicKey"],
    )
    return {
        "fileId": stored.file_id,
        "name": stored.path.rsplit("/", 1)[-1],
        "filePath": stored.path,
        "url": store.url(stored.path),
        "size": stored.size,
        "width": stored.width,
        "height": stored.height,
        "fileType": "image" if stored.mime else "non-image",
    }
