"""Post rules: who sees what, galleries attached all or nothing, optimistic concurrency.

A post that stops being public (made private or a draft) kills every image URL
handed out while it was public: its images are renamed (``image_service.conceal``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib import errors, wire
from chalicelib.clock import Clock
from chalicelib.images import service as image_service
from chalicelib.images.store import ImageStore
from chalicelib.logs import get_logger
from chalicelib.pagination import decode_cursor, split_page
from chalicelib.posts import repository
from chalicelib.posts.models import AuthorSummary, PostCreate, PostPublic, PostQuery, PostUpdate
from chalicelib.posts.repository import PostRecord
from chalicelib.principal import Principal
from chalicelib.settings import Settings
from chalicelib.users import repository as user_repository

Db = Any

log = get_logger("posts")


# ------------------------------------------------------------------- reading


def list_posts(
    *,
    db: Db,
    image_store: ImageStore,
    settings: Settings,
    viewer: Principal | None,
    query: PostQuery,
) -> tuple[list[PostPublic], str | None]:
    """A page of the feed, rendered in a fixed number of queries whatever its size."""
    author_id: str | None = None
    known_authors: dict[str, user_repository.UserRecord] = {}
    if query.author is not None:
        author = user_repository.find_by_username(db=db, username=query.author.lower())
        if author is None:
            return [], None
        author_id = author.id
        known_authors[author.id] = author
    search = None
    if query.q is not None:
        search = repository.search_filter(query.q, native_text=not settings.uses_embedded_mongo)
    page = repository.page(
        db=db,
        viewer_id=viewer.id if viewer else None,
        tag=query.tag.lower() if query.tag else None,
        author_id=author_id,
        search=search,
        after=decode_cursor(query.cursor) if query.cursor else None,
        limit=query.limit + 1,
    )
    page, next_cursor = split_page(page, query.limit)
    rendered = render(db=db, image_store=image_store, records=page, known_authors=known_authors)
    return rendered, next_cursor


def etag(version: int) -> str:
    return f'"v{version}"'


def visible_post(*, db: Db, viewer: Principal | None, post_id: str) -> PostRecord:
    record = repository.get(db=db, post_id=post_id)
    if record is None or not _can_see(viewer, record):
        # A private post of someone else is indistinguishable from no post.
        raise errors.NotFound("No such post.")
    return record


def _can_see(viewer: Principal | None, record: PostRecord) -> bool:
    if record.visibility == "public":
        return True
    return viewer is not None and (viewer.id == record.author_id or viewer.is_admin)


def render(
    *,
    db: Db,
    image_store: ImageStore,
    records: Sequence[PostRecord],
    known_authors: dict[str, user_repository.UserRecord] | None = None,
) -> list[PostPublic]:
    """Posts with their authors and images: one query for authors, one for images."""
    store = image_store
    authors = dict(known_authors or {})
    missing = sorted({r.author_id for r in records} - set(authors))
    if missing:
        authors.update(user_repository.find_many(db=db, user_ids=missing))
    wanted = [image_id for r in records for image_id in r.image_ids]
    wanted += [a.avatar_image_id for a in authors.values() if a.avatar_image_id]
    found = image_service.find_many(db=db, image_ids=wanted) if wanted else {}
    rendered = []
    for record in records:
        author = authors.get(record.author_id)
        rendered.append(
            PostPublic(
                id=record.id,
                title=record.title,
                body=record.body,
                tags=list(record.tags),
                visibility=record.visibility,
                author=AuthorSummary(
                    id=record.author_id,
                    username=author.username if author else "[deleted]",
                    display_name=author.display_name if author else "",
                    avatar=image_service.avatar(
                        author.avatar_image_id if author else None, found=found, store=store
                    ),
                ),
                images=[
                    image_service.to_public(
                        found[i], store=store, private=record.visibility != "public"
                    )
                    for i in record.image_ids
                    if i in found
                ],
                created_at=record.created_at,
                updated_at=record.updated_at,
                version=record.version,
            )
        )
    return rendered


# ------------------------------------------------------------------- writing


def create_post(
    *, db: Db, image_store: ImageStore, clock: Clock, author: Principal, data: PostCreate
) -> PostPublic:
    """Create a post; its images are attached first, and nothing exists if any is invalid."""
    now = clock()
    post_id = repository.new_id()
    if data.image_ids:
        image_service.attach(
            db=db, clock=clock, owner_id=author.id, image_ids=data.image_ids, post_id=post_id
        )
    try:
        record = repository.insert(
            db=db, post_id=post_id, author_id=author.id, fields=data.model_dump(), now=now
        )
    except Exception:
        # The post does not exist, so its images go back to being unattached uploads.
        if data.image_ids:
            image_service.detach(db=db, image_ids=data.image_ids, post_id=post_id)
        raise
    log.info({"event": "post_created", "post_id": record.id, "images": len(record.image_ids)})
    return render(db=db, image_store=image_store, records=[record])[0]


def update_post(
    *,
    db: Db,
    image_store: ImageStore,
    clock: Clock,
    editor: Principal,
    post_id: str,
    data: PostUpdate,
    if_match: str | None,
) -> PostPublic:
    now = clock()
    current = _editable(db, editor, post_id)
    if not wire.if_match(if_match, etag(current.version)):
        raise errors.PreconditionFailed(
            "The post changed since you read it; fetch it again.", code="stale_etag"
        )
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    if current.visibility == "public" and fields.get("visibility", "public") != "public":
        # Planned before the change: a failure after it can then always be retried.
        # Should the change itself fail, the sweep still renames: the safe side
        # (the post keeps working, with expiring URLs until it is next made public).
        image_service.plan_concealment(
            db=db, clock=clock, image_ids=current.image_ids, post_id=current.id
        )
    added: list[str] = []
    removed: list[str] = []
    if "image_ids" in fields:
        added = [i for i in fields["image_ids"] if i not in current.image_ids]
        removed = [i for i in current.image_ids if i not in fields["image_ids"]]
        if added:
            # Images belong to the post's author, whoever edits it.
            image_service.attach(
                db=db, clock=clock, owner_id=current.author_id, image_ids=added, post_id=current.id
            )
    try:
        updated = repository.update(
            db=db, post_id=current.id, expected_version=current.version, fields=fields, now=now
        )
    except Exception:
        if added:
            image_service.detach(db=db, image_ids=added, post_id=current.id)
        raise
    if updated is None:
        if added:
            image_service.detach(db=db, image_ids=added, post_id=current.id)
        raise errors.PreconditionFailed(
            "The post changed while you edited it; fetch it again.", code="stale_etag"
        )
    if removed:
        image_service.release(
            db=db, image_store=image_store, clock=clock, image_ids=removed, post_id=current.id
        )
    if updated.visibility != "public":
        # Also finishes what an earlier change of this post left to retry.
        image_service.conceal(db=db, image_store=image_store, image_ids=updated.image_ids)
    elif current.visibility != "public":
        image_service.reveal(db=db, image_ids=updated.image_ids, post_id=updated.id)
    return render(db=db, image_store=image_store, records=[updated])[0]


def delete_post(
    *, db: Db, image_store: ImageStore, clock: Clock, editor: Principal, post_id: str
) -> None:
    current = _editable(db, editor, post_id)
    if not repository.delete(db=db, post_id=current.id, expected_version=current.version):
        raise errors.PreconditionFailed(
            "The post changed while you deleted it; fetch it again.", code="stale_etag"
        )
    if current.image_ids:
        image_service.release(
            db=db,
            image_store=image_store,
            clock=clock,
            image_ids=current.image_ids,
            post_id=current.id,
        )
    log.info({"event": "post_deleted", "post_id": current.id})


def release_unwritten(*, db: Db, now: datetime) -> int:
    """Give back images attached for a post write that failed and whose undo failed too.

    They are attached to a post that does not exist or does not list them; they
    become unattached uploads again (and expire like any). Returns how many.
    """
    attached = image_service.recently_attached(db=db, now=now)
    if not attached:
        return 0
    listed = repository.image_ids_of(db=db, post_ids=list(attached))
    returned = 0
    for post_id, image_ids in attached.items():
        stray = [i for i in image_ids if i not in listed.get(post_id, [])]
        if stray:
            image_service.detach(db=db, image_ids=stray, post_id=post_id)
            log.warning({"event": "attach_released", "post_id": post_id, "images": len(stray)})
            returned += len(stray)
    return returned


def _editable(db: Db, editor: Principal, post_id: str) -> PostRecord:
    record = visible_post(db=db, viewer=editor, post_id=post_id)
    if record.author_id != editor.id and not editor.is_admin:
        raise errors.Forbidden("Only the author or an administrator may change this post.")
    return record
