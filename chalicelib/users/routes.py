"""/users: the signed-in user's account, public profiles, and /admin/users."""

from __future__ import annotations

from chalicelib.auth import service as auth_service
from chalicelib.auth.principal import Principal
from chalicelib.routing import Context, Router
from chalicelib.users import service
from chalicelib.users.models import (
    AdminUserUpdate,
    PasswordChange,
    ProfileUpdate,
    UserList,
    UserListQuery,
    UserPrivate,
    UserPublic,
)

router = Router(__name__, tag="users")
admin_router = Router(__name__ + ".admin", tag="admin")


@router.route("/users/me", response=UserPrivate, auth="user")
def get_me(ctx: Context, *, user: Principal) -> UserPrivate:
    """The signed-in user's account."""
    me = service.get_me(services=ctx.services, principal=user)
    return service.render_private(services=ctx.services, records=[me])[0]


@router.route("/users/me", "PATCH", body=ProfileUpdate, response=UserPrivate, auth="user")
def update_me(ctx: Context, *, user: Principal, body: ProfileUpdate) -> UserPrivate:
    """Change the display name or bio."""
    updated = service.update_profile(services=ctx.services, principal=user, data=body)
    return service.render_private(services=ctx.services, records=[updated])[0]


@router.route("/users/me/password", "POST", body=PasswordChange, status=204, auth="user")
def change_password(ctx: Context, *, user: Principal, body: PasswordChange) -> None:
    """Change the password; every other session ends."""
    auth_service.change_password(
        services=ctx.services,
        principal=user,
        current=body.current_password,
        new=body.new_password,
    )


@router.route("/users/{username}", response=UserPublic, errors=[404])
def get_profile(ctx: Context, username: str) -> UserPublic:
    """A user's public profile."""
    profile = service.public_profile(services=ctx.services, username=username)
    return service.render_public(services=ctx.services, records=[profile])[0]


@admin_router.route("/admin/users", query=UserListQuery, response=UserList, auth="admin")
def list_users(ctx: Context, *, user: Principal, query: UserListQuery) -> UserList:
    """All accounts, newest first, a page at a time."""
    page, next_cursor = service.list_users(
        services=ctx.services, limit=query.limit, cursor=query.cursor
    )
    items = service.render_private(services=ctx.services, records=page)
    return UserList(items=items, next_cursor=next_cursor)


@admin_router.route(
    "/admin/users/{user_id}",
    "PATCH",
    body=AdminUserUpdate,
    response=UserPrivate,
    auth="admin",
    errors=[404, 409],
)
def update_user(
    ctx: Context, user_id: str, *, user: Principal, body: AdminUserUpdate
) -> UserPrivate:
    """Disable or enable an account, or change its roles."""
    updated = service.admin_update(services=ctx.services, admin=user, user_id=user_id, data=body)
    return service.render_private(services=ctx.services, records=[updated])[0]
