"""/posts: the feed, and creating, reading, editing and deleting posts."""

from __future__ import annotations

from chalicelib import wire
from chalicelib.posts.models import PostCreate, PostPage, PostPublic, PostQuery, PostUpdate
from chalicelib.principal import Principal
from chalicelib.routing import Answer, Context, Router

router = Router(__name__, tag="posts")

# Views import the service when called: it loads the images service (pymongo,
# Pillow), and importing the app (a Lambda cold start, /health) must not pay for it.


@router.route("/posts", query=PostQuery, response=PostPage, auth="optional")
def list_posts(ctx: Context, *, user: Principal | None, query: PostQuery) -> PostPage:
    """The feed, newest first: public posts, plus your own private posts and drafts.

    Filters combine: `tag`, `author` (a username) and `q` (whole words of title or body).
    Follow `next_cursor` for the next page; it stays correct while new posts arrive.
    """
    from chalicelib.posts import service

    items, next_cursor = service.list_posts(
        db=ctx.db, image_store=ctx.image_store, settings=ctx.settings, viewer=user, query=query
    )
    return PostPage(items=items, next_cursor=next_cursor)


@router.route("/posts", "POST", body=PostCreate, response=PostPublic, status=201, auth="verified")
def create_post(ctx: Context, *, user: Principal, body: PostCreate) -> Answer:
    """Publish a post; its `image_ids` must be your own unattached uploads."""
    from chalicelib.posts import service

    post = service.create_post(
        db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, author=user, data=body
    )
    return Answer(
        post, headers={"Location": f"/posts/{post.id}", "ETag": service.etag(post.version)}
    )


@router.route("/posts/{post_id}", response=PostPublic, auth="optional", errors=[404])
def get_post(ctx: Context, post_id: str, *, user: Principal | None) -> Answer:
    """One post, with a strong `ETag`; `If-None-Match` answers 304 when it is unchanged."""
    from chalicelib.posts import service

    record = service.visible_post(db=ctx.db, viewer=user, post_id=post_id)
    tag = service.etag(record.version)
    if wire.none_match(ctx.request.headers.get("if-none-match"), tag):
        return Answer(headers={"ETag": tag}, status=304)
    [post] = service.render(db=ctx.db, image_store=ctx.image_store, records=[record])
    return Answer(post, headers={"ETag": tag})


@router.route(
    "/posts/{post_id}",
    "PATCH",
    body=PostUpdate,
    response=PostPublic,
    auth="user",
    errors=[403, 404, 412],
)
def update_post(ctx: Context, post_id: str, *, user: Principal, body: PostUpdate) -> Answer:
    """Change a post (author or admin). Send `If-Match` with its ETag to refuse stale edits."""
    from chalicelib.posts import service

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
    from chalicelib.posts import service

    service.delete_post(
        db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, editor=user, post_id=post_id
    )
