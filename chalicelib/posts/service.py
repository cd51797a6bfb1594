"""Post rules: who sees what, galleries attached all or nothing, optimistic concurrency."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib import errors
from chalicelib.auth.principal import Principal
from chalicelib.images import service as images
from chalicelib.logs import get_logger
from chalicelib.pagination import decode_cursor, encode_cursor
from chalicelib.posts import repository as posts
from chalicelib.posts.models import AuthorSummary, PostCreate, PostPublic, PostQuery, PostUpdate
from chalicelib.posts.repository import PostRecord
from chalicelib.services import Services
from chalicelib.users import repository as users

log = get_logger("posts")


# ------------------------------------------------------------------- reading


def list_posts(
    *, services: Services, viewer: Principal | None, query: PostQuery
) -> tuple[list[PostPublic], str | None]:
    """A page of the feed, rendered in a fixed number of queries whatever its size."""
    db = services.db
    author_id: str | None = None
    known_authors: dict[str, users.UserRecord] = {}
    if query.author is not None:
        author = users.find_by_username(db=db, username=query.author.lower())
        if author is None:
            return [], None
        author_id = author.id
        known_authors[author.id] = author
    search = None
    if query.q is not None:
        search = posts.search_filter(query.q, native_text=not services.settings.uses_embedded_mongo)
    page = posts.page(
        db=db,
        viewer_id=viewer.id if viewer else None,
        tag=query.tag.lower() if query.tag else None,
        author_id=author_id,
        search=search,
        after=decode_cursor(query.cursor) if query.cursor else None,
        limit=query.limit + 1,
    )
    more = len(page) > query.limit
    page = page[: query.limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return render(services=services, records=page, known_authors=known_authors), next_cursor


def get_post(*, services: Services, viewer: Principal | None, post_id: str) -> PostPublic:
    record = _visible(services, viewer, post_id)
    return render(services=services, records=[record])[0]


def etag(version: int) -> str:
    return f'"v{version}"'


def current_etag(*, services: Services, viewer: Principal | None, post_id: str) -> str:
    return etag(_visible(services, viewer, post_id).version)


def _visible(services: Services, viewer: Principal | None, post_id: str) -> PostRecord:
    record = posts.get(db=services.db, post_id=post_id)
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
    services: Services,
    records: Sequence[PostRecord],
    known_authors: dict[str, users.UserRecord] | None = None,
) -> list[PostPublic]:
    """Posts with their authors and images: one query for authors, one for images."""
    db, store = services.db, services.image_store
    authors = dict(known_authors or {})
    missing = sorted({r.author_id for r in records} - set(authors))
    if missing:
        authors.update(users.find_many(db=db, user_ids=missing))
    wanted = [image_id for r in records for image_id in r.image_ids]
    wanted += [a.avatar_image_id for a in authors.values() if a.avatar_image_id]
    found = images.find_many(db=db, image_ids=wanted) if wanted else {}
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
                    avatar=images.avatar(
                        author.avatar_image_id if author else None, found=found, store=store
                    ),
                ),
                images=[
                    images.to_public(found[i], store=store, signed=record.visibility != "public")
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


def create_post(*, services: Services, author: Principal, data: PostCreate) -> PostPublic:
    """Create a post; its images are attached first, and nothing exists if any is invalid."""
    db, now = services.db, services.clock()
    post_id = posts.new_id()
    if data.image_ids:
        images.attach(db=db, owner_id=author.id, image_ids=data.image_ids, post_id=post_id)
    try:
        record = posts.insert(
            db=db, post_id=post_id, author_id=author.id, fields=data.model_dump(), now=now
        )
    except Exception:
        # The post does not exist, so its images go back to being unattached uploads.
        if data.image_ids:
            images.detach(db=db, image_ids=data.image_ids, post_id=post_id)
        raise
    log.info({"event": "post_created", "post_id": record.id, "images": len(record.image_ids)})
    return render(services=services, records=[record])[0]


def update_post(
    *,
    services: Services,
    editor: Principal,
    post_id: str,
    data: PostUpdate,
    if_match: str | None,
) -> PostPublic:
    db, now = services.db, services.clock()
    current = _editable(services, editor, post_id)
    if if_match is not None and if_match.strip() not in (etag(current.version), "*"):
        raise errors.PreconditionFailed(
            "The post changed since you read it; fetch it again.", code="stale_etag"
        )
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    added: list[str] = []
    removed: list[str] = []
    if "image_ids" in fields:
        added = [i for i in fields["image_ids"] if i not in current.image_ids]
        removed = [i for i in current.image_ids if i not in fields["image_ids"]]
        if added:
            # Images belong to the post's author, whoever edits it.
            images.attach(db=db, owner_id=current.author_id, image_ids=added, post_id=current.id)
    updated = posts.update(
        db=db, post_id=current.id, expected_version=current.version, fields=fields, now=now
    )
    if updated is None:
        if added:
            images.detach(db=db, image_ids=added, post_id=current.id)
        raise errors.PreconditionFailed(
            "The post changed while you edited it; fetch it again.", code="stale_etag"
        )
    if removed:
        images.release(services=services, image_ids=removed, post_id=current.id)
    return render(services=services, records=[updated])[0]


def delete_post(*, services: Services, editor: Principal, post_id: str) -> None:
    current = _editable(services, editor, post_id)
    if not posts.delete(db=services.db, post_id=current.id, expected_version=current.version):
        raise errors.PreconditionFailed(
            "The post changed while you deleted it; fetch it again.", code="stale_etag"
        )
    if current.image_ids:
        images.release(services=services, image_ids=current.image_ids, post_id=current.id)
    log.info({"event": "post_deleted", "post_id": current.id})


def _editable(services: Services, editor: Principal, post_id: str) -> PostRecord:
    record = _visible(services, editor, post_id)
    if record.author_id != editor.id and not editor.is_admin:
        raise errors.Forbidden("Only the author or an administrator may change this post.")
    return record
