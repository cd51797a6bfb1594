"""/posts: the feed, and creating, reading, editing and deleting posts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import lazy, wire
from chalicelib.routing import Answer, Context, Router

# The first request that needs them loads the service (pymongo, the images service)
# and the models (pydantic); importing the app (a Lambda cold start) loads neither.
if TYPE_CHECKING:
    from chalicelib.posts import models, service
    from chalicelib.principal import Principal
else:
    models = lazy.module("chalicelib.posts.models")
    service = lazy.module("chalicelib.posts.service")

router = Router(__name__, tag="posts")


@router.route("/posts", query="PostQuery", response="PostPage", auth="optional")
def list_posts(ctx: Context, *, user: Principal | None, query: models.PostQuery) -> models.PostPage:
    """The feed, newest first: public posts, plus your own private posts and drafts.

    Filters combine: `tag`, `author` (a username) and `q` (whole words of title or body).
    Follow `next_cursor` for the next page; it stays correct while new posts arrive.
    """
    items, next_cursor = service.list_posts(
        db=ctx.db, image_store=ctx.image_store, settings=ctx.settings, viewer=user, query=query
    )
    return models.PostPage(items=items, next_cursor=next_cursor)


@router.route(
    "/posts", "POST", body="PostCreate", response="PostPublic", status=201, auth="verified"
)
def create_post(ctx: Context, *, user: Principal, body: models.PostCreate) -> Answer:
    """Publish a post; its `image_ids` must be your own unattached uploads."""
    post = service.create_post(
        db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, author=user, data=body
    )
    return Answer(
        post, headers={"Location": f"/posts/{post.id}", "ETag": service.etag(post.version)}
    )


@router.route("/posts/{post_id}", response="PostPublic", auth="optional", errors=[404])
def get_post(ctx: Context, post_id: str, *, user: Principal | None) -> Answer:
    """One post, with a strong `ETag`; `If-None-Match` answers 304 when it is unchanged."""
    record = service.visible_post(db=ctx.db, viewer=user, post_id=post_id)
    tag = service.etag(record.version)
    if wire.none_match(ctx.request.headers.get("if-none-match"), tag):
        return Answer(headers={"ETag": tag}, status=304)
    [post] = service.render(db=ctx.db, image_store=ctx.image_store, records=[record])
    return Answer(post, headers={"ETag": tag})


@router.route(
    "/posts/{post_id}",
    "PATCH",
    body="PostUpdate",
    response="PostPublic",
    auth="user",
    errors=[403, 404, 412],
)
def update_post(ctx: Context, post_id: str, *, user: Principal, body: models.PostUpdate) -> Answer:
    """Change a post (author or admin). Send `If-Match` with its ETag to refuse stale edits."""
    post = service.update_post(
        db=ctx.db,
        image_store=ctx.image_store,
        clock=ctx.clock,
        editor=user,
        post_id=post_id,
        data=body,
        if_match=ctx.request.headers.get("if-match"),
    )
    return Answer(post, headers={"ETag": service.etag(post.version)})


@router.route("/posts/{post_id}", "DELETE", status=204, auth="user", errors=[403, 404, 412])
def delete_post(ctx: Context, post_id: str, *, user: Principal) -> None:
    """Delete a post (author or admin); its images are deleted from the store."""
    service.delete_post(
        db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, editor=user, post_id=post_id
    )
