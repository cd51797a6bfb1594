"""Image rules: what may be stored, who may see and change it, and that nothing is orphaned.

Lifecycle: an uploaded image is ``pending`` until a post or an avatar attaches
it. Deleting an image, releasing it from a post or replacing an avatar marks
the record ``deleted`` with ``cleanup_pending``; the file is then deleted from
the store and its CDN cache purged, and the record removed. When the store
fails, the record stays marked and ``sweep`` retries it later: the user is
never blocked by the store. ``sweep`` also expires ``pending`` images older
than a day.

Every delivery URL is signed (the store refuses unsigned ones). Images of
public posts and avatars get URLs signed without an expiry; everything else
(private posts, drafts, the owner's own view of an upload) gets URLs that expire
in an hour. A URL without an expiry stays valid while the file keeps its path,
so when a post stops being public its files are renamed to fresh, unguessable
names (``plan_concealment`` before the post changes, ``conceal`` after): every
earlier URL then answers 404 and the CDN's copies are purged. The planned name
is recorded first, so a rename that fails half-way through a gallery is retried
with the same name, by the next edit of the post or by ``sweep``. A renamed
path only gets expiring URLs until the post is public again (``reveal``), so a
feed that read the post just before it changed cannot hand out a lasting URL.

The posts feature calls ``attach``, ``release``, ``find_many``, ``to_public``,
``plan_concealment``, ``conceal`` and ``reveal``; posts' authors and user profiles get their
avatars from ``find_many`` and ``avatar``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib import errors
from chalicelib.clock import Clock
from chalicelib.images import formats, repository
from chalicelib.images.models import (
    AvatarPublic,
    AvatarUrls,
    ImageFormat,
    ImagePublic,
    ImageRecord,
    ImageVariants,
    UploadAuth,
)
from chalicelib.images.store import (
    Delivery,
    ImageStore,
    MediaServer,
    StoredFile,
    StoreError,
    UnusableImage,
)
from chalicelib.logs import get_logger
from chalicelib.principal import Principal

Db = Any

log = get_logger("images")

FOLDER_ROOT = "/snapboard/users"
UPLOADS_ROOT = "/snapboard/uploads"
PENDING_TTL = dt.timedelta(hours=24)
SIGNED_URL_TTL_SECONDS = 3600
# The sweep leaves a planned rename alone this long: the request that planned it
# renames the files itself once the post has changed.
CONCEAL_GRACE = dt.timedelta(minutes=10)
UPLOAD_AUTH_TTL_SECONDS = 30 * 60
SWEEP_BATCH = 500
# An attach whose post write and compensation both failed is found by the sweep among
# the attaches older than any request lasts and younger than a few sweeps.
ATTACH_SETTLE = dt.timedelta(minutes=5)
ATTACH_LOOKBACK = dt.timedelta(hours=3)

VARIANTS = {
    "thumb": "w-320,h-320,f-auto",
    "card": "w-640,f-auto",
    "full": "w-1600,h-1600,c-at_max,f-auto",
}
SRCSET_WIDTHS = (320, 640, 960, 1280, 1600)
PLACEHOLDER = "w-32,q-50,bl-30,f-auto"
AVATAR_SIZES = {"small": 48, "medium": 96, "large": 256}


@dataclass(frozen=True)
class SweepReport:
    expired: int  # pending images past their day, now deleted
    cleaned: int  # files deleted from the store and purged
    failed: int  # still awaiting clean-up or a rename; the next sweep retries them
    unregistered: int = 0  # day-old direct uploads nobody registered, now deleted
    concealed: int = 0  # files of posts no longer public, renamed by this sweep


def folder_for(user_id: str) -> str:
    """Where a user's published images live."""
    return f"{FOLDER_ROOT}/{user_id}"


def upload_folder_for(user_id: str) -> str:
    """Where a user's direct uploads wait for ``register``."""
    return f"{UPLOADS_ROOT}/{user_id}"


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
    """Stage the bytes, then adopt them as ``register`` adopts a direct upload.

    Only the cheap checks run here (size, emptiness, the format's signature), so
    that an obvious non-image never reaches the store; the store decodes the
    file, and what it reports decides, as for a direct upload. No decoder runs
    in this process on ImageKit (the Lambda package has none).
    """
    image_format = formats.check_upload(data, field="file")
    name = f"{uuid.uuid4().hex}.{formats.EXTENSIONS[image_format]}"
    try:
        staged = image_store.upload(data=data, file_name=name, folder=upload_folder_for(user.id))
    except StoreError as exc:
        log.warning({"event": "image_upload_failed", "reason": str(exc)})
        raise errors.UpstreamFailed(
            "The image store failed; nothing was saved. Try again.", code="image_store_failed"
        ) from None
    # The caller never learns the staged file's id, so nothing may retry it: any failure
    # deletes it.
    return _adopt(
        db, clock, image_store, user, staged, field="file", alt=alt, keep_on_failure=False
    )


def upload_auth(*, image_store: ImageStore, clock: Clock, user: Principal) -> UploadAuth:
    """Parameters for one direct browser upload into the caller's staging folder."""
    expire = int(clock().timestamp()) + UPLOAD_AUTH_TTL_SECONDS
    folder = upload_folder_for(user.id)
    signed = image_store.upload_signature(expire=expire, folder=folder)
    return UploadAuth(
        token=signed.token,
        expire=signed.expire,
        signature=signed.signature,
        public_key=signed.public_key,
        url_endpoint=signed.url_endpoint,
        folder=folder,
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
    """Adopt a directly uploaded file from the caller's staging folder."""
    try:
        stored = image_store.get(file_id)
    except StoreError as exc:
        log.warning({"event": "image_lookup_failed", "reason": str(exc)})
        raise errors.UpstreamFailed("The image store failed. Try again.") from None
    # One answer for "no such file" and "someone else's file": ids reveal nothing.
    if stored is None or not stored.path.startswith(upload_folder_for(user.id) + "/"):
        raise errors.InvalidInput.field("file_id", "No such file in your upload folder.")
    # The browser holds the id: after a store or database failure it may register again,
    # and the sweep deletes what nobody registered within a day.
    return _adopt(
        db, clock, image_store, user, stored, field="file_id", alt=alt, keep_on_failure=True
    )


def _adopt(
    db: Db,
    clock: Clock,
    store: ImageStore,
    user: Principal,
    staged: StoredFile,
    *,
    field: str,
    alt: str | None,
    keep_on_failure: bool,
) -> ImagePublic:
    """Publish a clean copy of a staged file, record it as ``pending``, delete the staged file.

    What the store reports about the file (format, size, dimensions: it decoded
    it) decides whether it is an allowed image; a refusal names ``field`` and
    deletes the file. The copy is upright and carries no EXIF, GPS, XMP or
    comments, whatever was sent; the staged original never gets a URL from us
    and is gone once the copy is recorded. When the copy or the record fails,
    the staged file stays only if ``keep_on_failure`` (someone may retry it).
    """
    problem = _staged_problem(staged)
    if problem is not None or staged.mime is None:
        # The file is the caller's and no record will ever point at it.
        _delete_quietly(store, staged.file_id)
        raise errors.InvalidInput.field(field, problem or formats.NOT_AN_IMAGE)
    image_format = formats.FORMAT_BY_MIME[staged.mime]
    name = f"{uuid.uuid4().hex}.{formats.EXTENSIONS[image_format]}"
    try:
        copy = store.clean_copy(staged, folder=folder_for(user.id), file_name=name)
    except UnusableImage as exc:
        _delete_quietly(store, staged.file_id)
        raise errors.InvalidInput.field(field, str(exc)) from None
    except StoreError as exc:
        log.warning({"event": "image_copy_failed", "reason": str(exc)})
        if not keep_on_failure:
            _delete_quietly(store, staged.file_id)
        raise errors.UpstreamFailed(
            "The image store failed; nothing was saved. Try again.", code="image_store_failed"
        ) from None
    try:
        record = _record_or_undo(
            db,
            clock,
            store,
            copy,
            owner_id=user.id,
            # An orientation of 90 degrees swaps them: the copy's own are the truth.
            width=copy.width or staged.width or 1,
            height=copy.height or staged.height or 1,
            format=image_format,
            alt=alt,
        )
    except Exception:
        if not keep_on_failure:
            _delete_quietly(store, staged.file_id)
        raise
    _delete_quietly(store, staged.file_id)
    return to_public(record, store=store, private=True)


def _staged_problem(stored: StoredFile) -> str | None:
    """Why the store's description of a staged file is not an allowed image, if it is not."""
    if stored.mime not in formats.FORMAT_BY_MIME or not stored.width or not stored.height:
        return formats.NOT_AN_IMAGE
    if stored.size > formats.MAX_DIRECT_UPLOAD_BYTES:
        return f"The file is larger than {formats.MAX_DIRECT_UPLOAD_BYTES} bytes."
    if stored.width * stored.height > formats.MAX_PIXELS:
        return formats.too_many_pixels()
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
    except errors.Conflict:
        raise  # another record owns this file: it stays
    except Exception:
        # An outage (or a bug) between the store write and the database write: nothing
        # will ever point at the file. If the insert did land, its record stays pending
        # and the sweep expires it; a file nothing points at would stay forever.
        _delete_quietly(store, stored.file_id)
        raise


def _undo_quietly(undo: Callable[[], object]) -> None:
    """Run a compensation after a failure; its own failure must not hide the first one."""
    try:
        undo()
    except Exception:
        log.exception({"event": "compensation_failed"})


def _delete_quietly(store: ImageStore, file_id: str) -> None:
    try:
        store.delete(file_id)
    except StoreError as exc:
        # Nothing in the database points at it: only the log can tell an operator.
        log.error({"event": "image_orphaned", "file_id": file_id, "reason": str(exc)})


# ------------------------------------------------------------ owner actions


def get_image(*, db: Db, image_store: ImageStore, user: Principal, image_id: str) -> ImagePublic:
    record = _owned(db, user, image_id)
    return to_public(record, store=image_store, private=True)


def update_alt(
    *, db: Db, image_store: ImageStore, user: Principal, image_id: str, alt: str | None
) -> ImagePublic:
    """Set the alt text; posts render it from the image, so each shows the new text."""
    record = _owned(db, user, image_id)
    updated = repository.set_alt(db, record.id, alt=alt)
    if updated is None:  # deleted since we read it
        raise errors.NotFound("No such image.")
    return to_public(updated, store=image_store, private=True)


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
    try:
        matched = repository.attach_pending(
            db, image_ids=to_attach, owner_id=owner_id, post_id=post_id, stamp=stamp, now=clock()
        )
    except Exception:
        # A multi-document update is never retried and may have changed some of them.
        _undo_quietly(lambda: repository.undo_attach(db, stamp=stamp))
        raise
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
    """Undo ``attach`` for a post whose write failed: the images are unattached uploads again.

    Called after a failure, so its own failure is logged and the first one reported.
    """
    _undo_quietly(lambda: repository.detach(db, image_ids=image_ids, post_id=post_id))


def release(
    *, db: Db, image_store: ImageStore, clock: Clock, image_ids: Sequence[str], post_id: str
) -> None:
    """The post no longer uses these images: delete them; store failures wait for the sweep."""
    marked = repository.discard(db, image_ids=image_ids, post_id=post_id)
    _clean_up(db, image_store, marked, now=clock())


def recently_attached(*, db: Db, now: dt.datetime) -> dict[str, list[str]]:
    """Images attached a while ago but recently, by post id: for the sweep to check."""
    found: dict[str, list[str]] = {}
    for image_id, post_id in repository.attached_between(
        db, since=now - ATTACH_LOOKBACK, before=now - ATTACH_SETTLE, limit=SWEEP_BATCH
    ):
        found.setdefault(post_id, []).append(image_id)
    return found


def find_many(*, db: Db, image_ids: Sequence[str]) -> dict[str, ImageRecord]:
    """Live images by id, in one query."""
    return repository.find_many(db, image_ids)


def plan_concealment(*, db: Db, clock: Clock, image_ids: Sequence[str], post_id: str) -> None:
    """Before a public post stops being public: give each of its images a next name.

    Done before the post changes, so that no failure after it can leave the
    post private with nothing recording that its old URLs still work.
    """
    now = clock()
    for record in repository.find_many(db, image_ids).values():
        if record.post_id == post_id and record.status == "attached":
            suffix = record.path.rpartition(".")[2]
            new_name = f"{secrets.token_hex(16)}.{suffix}"
            repository.plan_rename(db, record.id, post_id=post_id, new_name=new_name, now=now)


def conceal(*, db: Db, image_store: ImageStore, image_ids: Sequence[str]) -> None:
    """After the post changed: rename the files planned, so every earlier URL dies.

    Raises ``UpstreamFailed`` if the store failed for any of them; what was
    renamed stays renamed and recorded, the rest is retried with the same names.
    """
    if not image_ids:
        return
    due = repository.renames_due(db, image_ids=image_ids)
    _, failed = _rename_each(db, image_store, due)
    if failed:
        raise errors.UpstreamFailed(
            "The post is no longer public, but the image store failed before every old "
            "image link was revoked. Send the change again, or wait for the retry.",
            code="image_store_failed",
        )


def reveal(*, db: Db, image_ids: Sequence[str], post_id: str) -> None:
    """After a post became public again: its images may get URLs without an expiry."""
    if image_ids:
        repository.reveal(db, image_ids=image_ids, post_id=post_id)


def _rename_each(db: Db, store: ImageStore, records: Sequence[ImageRecord]) -> tuple[int, int]:
    renamed = failed = 0
    for record in records:
        assert record.conceal_to is not None
        try:
            moved = store.rename(
                file_id=record.file_id, path=record.path, new_name=record.conceal_to
            )
        except StoreError as exc:
            failed += 1
            log.warning({"event": "image_rename_failed", "image_id": record.id, "reason": str(exc)})
            continue
        # If this write fails the plan is still recorded: the retry's rename is idempotent.
        repository.relocate(
            db, record.id, from_path=record.path, file_id=moved.file_id, path=moved.path
        )
        renamed += 1
    return renamed, failed


def to_public(record: ImageRecord, *, store: ImageStore, private: bool) -> ImagePublic:
    """The wire shape: absolute signed URLs, expiring in an hour when ``private``.

    A path made for a post that was not public expires too, whatever the caller saw.
    """
    expires_in = SIGNED_URL_TTL_SECONDS if private or record.private_path else None

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
    """Square crops for profiles; avatars are public, so the URLs do not expire."""
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
    try:
        found, previous = repository.set_user_avatar(db, user_id=user.id, image_id=image_id)
    except Exception:
        _undo_quietly(lambda: repository.unclaim_avatar(db, image_id=image_id, user_id=user.id))
        raise
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
    """Expire day-old pending images, retry every clean-up and rename the store refused,
    and delete day-old direct uploads nobody registered."""
    expired = repository.expire_pending(db, created_before=now - PENDING_TTL, limit=SWEEP_BATCH)
    due = repository.awaiting_cleanup(db, limit=SWEEP_BATCH)
    cleaned, failed = _clean_up(db, image_store, due, now=now)
    renames = repository.renames_due(db, planned_before=now - CONCEAL_GRACE, limit=SWEEP_BATCH)
    concealed, not_renamed = _rename_each(db, image_store, renames)
    unregistered = _sweep_unregistered(image_store, before=now - PENDING_TTL)
    report = SweepReport(
        expired=len(expired),
        cleaned=cleaned,
        failed=failed + not_renamed,
        unregistered=unregistered,
        concealed=concealed,
    )
    log.info({"event": "image_sweep", **report.__dict__})
    return report


def _sweep_unregistered(store: ImageStore, *, before: dt.datetime) -> int:
    """Delete staged uploads older than ``before``: no record ever points at one."""
    try:
        staged = store.files_before(folder=UPLOADS_ROOT, before=before, limit=SWEEP_BATCH)
    except StoreError as exc:
        log.warning({"event": "image_sweep_list_failed", "reason": str(exc)})
        return 0
    deleted = 0
    for stored in staged:
        try:
            store.delete(stored.file_id)
        except StoreError as exc:
            log.warning({"event": "image_orphan_delete_failed", "reason": str(exc)})
            continue
        deleted += 1
    return deleted


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


def _local_store(store: ImageStore) -> MediaServer:
    # Only the local store serves /media; ImageKit serves its own URLs and uploads.
    if not isinstance(store, MediaServer):
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
        "url": store.unsigned_url(stored.path),
        "size": stored.size,
        "width": stored.width,
        "height": stored.height,
        "fileType": "image" if stored.mime else "non-image",
    }
