"""/users: the signed-in user's account, public profiles, and /admin/users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib import lazy
from chalicelib.routing import Context, Router

# The first request that needs them loads the service (pymongo) and the models (pydantic).
if TYPE_CHECKING:
    from chalicelib.principal import Principal
    from chalicelib.users import models, service
    from chalicelib.users.repository import UserRecord
else:
    models = lazy.module("chalicelib.users.models")
    service = lazy.module("chalicelib.users.service")

router = Router(__name__, tag="users")
admin_router = Router(__name__ + ".admin", tag="admin", models="chalicelib.users.models")


@router.route("/users/me", response="UserPrivate", auth="user")
def get_me(ctx: Context, *, user: Principal) -> models.UserPrivate:
    """The signed-in user's account."""
    me = service.get_me(db=ctx.db, principal=user)
    return _private(ctx, [me])[0]


@router.route("/users/me", "PATCH", body="ProfileUpdate", response="UserPrivate", auth="user")
def update_me(ctx: Context, *, user: Principal, body: models.ProfileUpdate) -> models.UserPrivate:
    """Change the display name or bio."""
    updated = service.update_profile(db=ctx.db, clock=ctx.clock, principal=user, data=body)
    return _private(ctx, [updated])[0]


@router.route("/users/me/password", "POST", body="PasswordChange", status=204, auth="user")
def change_password(ctx: Context, *, user: Principal, body: models.PasswordChange) -> None:
    """Change the password; every other session ends."""
    service.change_password(
        db=ctx.db,
        clock=ctx.clock,
        password_hasher=ctx.password_hasher,
        principal=user,
        current=body.current_password,
        new=body.new_password,
    )


@router.route("/users/{username}", response="UserPublic", errors=[404])
def get_profile(ctx: Context, username: str) -> models.UserPublic:
    """A user's public profile."""
    profile = service.public_profile(db=ctx.db, username=username)
    return service.render_public(db=ctx.db, image_store=ctx.image_store, records=[profile])[0]


@admin_router.route("/admin/users", query="UserListQuery", response="UserList", auth="admin")
def list_users(ctx: Context, *, user: Principal, query: models.UserListQuery) -> models.UserList:
    """All accounts, newest first, a page at a time."""
    page, next_cursor = service.list_users(db=ctx.db, limit=query.limit, cursor=query.cursor)
    return models.UserList(items=_private(ctx, page), next_cursor=next_cursor)


@admin_router.route(
    "/admin/users/{user_id}",
    "PATCH",
    body="AdminUserUpdate",
    response="UserPrivate",
    auth="admin",
    errors=[404, 409],
)
def update_user(
    ctx: Context, user_id: str, *, user: Principal, body: models.AdminUserUpdate
) -> models.UserPrivate:
    """Disable or enable an account, or change its roles."""
    updated = service.admin_update(
        db=ctx.db, clock=ctx.clock, admin=user, user_id=user_id, data=body
    )
    return _private(ctx, [updated])[0]


def _private(ctx: Context, records: Sequence[UserRecord]) -> list[models.UserPrivate]:
    return service.render_private(db=ctx.db, image_store=ctx.image_store, records=records)
