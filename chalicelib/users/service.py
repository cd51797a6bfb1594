"""Profiles and the administration of accounts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib import errors, passwords, sessions
from chalicelib.clock import Clock
from chalicelib.images.models import AvatarUrls
from chalicelib.logs import get_logger
from chalicelib.pagination import decode_cursor, split_page
from chalicelib.principal import Principal
from chalicelib.users import repository as user_repository
from chalicelib.users.emails import lookup_key
from chalicelib.users.models import AdminUserUpdate, ProfileUpdate, UserPrivate, UserPublic
from chalicelib.users.repository import UserRecord

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from chalicelib.images.store import ImageStore

Db = Any

log = get_logger("users")


def get_me(*, db: Db, principal: Principal) -> UserRecord:
    user = user_repository.find_by_id(db=db, user_id=principal.id)
    if user is None:
        raise errors.NotFound("No such user.")
    return user


def update_profile(
    *, db: Db, clock: Clock, principal: Principal, data: ProfileUpdate
) -> UserRecord:
    fields = {k: v.strip() for k, v in data.model_dump(exclude_none=True).items()}
    if not fields:
        return get_me(db=db, principal=principal)
    user = user_repository.update_fields(db=db, user_id=principal.id, fields=fields, now=clock())
    if user is None:
        raise errors.NotFound("No such user.")
    return user


def change_password(
    *,
    db: Db,
    clock: Clock,
    password_hasher: PasswordHasher,
    principal: Principal,
    current: str,
    new: str,
) -> None:
    """Replace the password; every session but the caller's ends."""
    now = clock()
    user = get_me(db=db, principal=principal)
    if not passwords.verify(password_hasher, user.password_hash, current):
        raise errors.InvalidInput.field("current_password", "is wrong")
    passwords.require_acceptable(
        new, email=user.email, username=user.username, field="new_password"
    )
    user_repository.update_fields(
        db=db,
        user_id=user.id,
        fields={"password_hash": password_hasher.hash(new)},
        now=now,
    )
    revoked = sessions.revoke_all(
        db=db, user_id=user.id, reason="password_change", now=now, keep=principal.session_id
    )
    log.info({"event": "password_changed", "user_id": user.id, "sessions_revoked": revoked})


def public_profile(*, db: Db, username: str) -> UserRecord:
    user = user_repository.find_by_username(db=db, username=username.lower())
    if user is None or user.disabled:
        raise errors.NotFound(f"No user named {username}.")
    return user


# ----------------------------------------------------------------- rendering


def render_private(
    *, db: Db, image_store: ImageStore, records: Sequence[UserRecord]
) -> list[UserPrivate]:
    """Accounts as their owners (and admins) see them; every avatar in one query."""
    avatars = _avatars(db, image_store, records)
    return [UserPrivate.of(user, avatar=avatars.get(user.id)) for user in records]


def render_public(
    *, db: Db, image_store: ImageStore, records: Sequence[UserRecord]
) -> list[UserPublic]:
    """Profiles as anyone sees them; every avatar in one query."""
    avatars = _avatars(db, image_store, records)
    return [UserPublic.of(user, avatar=avatars.get(user.id)) for user in records]


def _avatars(
    db: Db, image_store: ImageStore, records: Sequence[UserRecord]
) -> dict[str, AvatarUrls]:
    """Avatar URLs by user id, the way posts embed their authors' (nothing for no avatar)."""
    wanted = [user.avatar_image_id for user in records if user.avatar_image_id]
    if not wanted:
        return {}  # no query for users without avatars
    # Imported when needed: it loads pymongo and Pillow, which importing the app must not.
    from chalicelib.images import service as images

    found = images.find_many(db=db, image_ids=wanted)
    avatars: dict[str, AvatarUrls] = {}
    for user in records:
        avatar = images.avatar(user.avatar_image_id, found=found, store=image_store)
        if avatar is not None:
            avatars[user.id] = avatar
    return avatars


# ------------------------------------------------------------------- admin


def list_users(*, db: Db, limit: int, cursor: str | None) -> tuple[list[UserRecord], str | None]:
    after = decode_cursor(cursor) if cursor else None
    return split_page(user_repository.list_page(db=db, limit=limit + 1, after=after), limit)


def admin_update(
    *, db: Db, clock: Clock, admin: Principal, user_id: str, data: AdminUserUpdate
) -> UserRecord:
    target = user_repository.find_by_id(db=db, user_id=user_id)
    if target is None:
        raise errors.NotFound("No such user.")
    if target.id == admin.id and (data.disabled or (data.roles and "admin" not in data.roles)):
        raise errors.Conflict(
            "Administrators cannot disable or demote themselves.", code="cannot_change_self"
        )
    fields: dict[str, object] = {}
    if data.disabled is not None:
        fields["disabled"] = data.disabled
    if data.roles is not None:
        fields["roles"] = sorted({"user", *data.roles})
    now = clock()
    updated = user_repository.update_fields(db=db, user_id=target.id, fields=fields, now=now)
    if updated is None:
        raise errors.NotFound("No such user.")
    if data.disabled:
        sessions.revoke_all(db=db, user_id=target.id, reason="disabled", now=now)
    log.info(
        {
            "event": "admin_update",
            "admin_id": admin.id,
            "user_id": target.id,
            "fields": sorted(fields),
        }
    )
    return updated


def promote(*, db: Db, clock: Clock, email: str) -> UserRecord:
    """Make an existing user an administrator (``make admin EMAIL=...``)."""
    user = user_repository.find_by_email(db=db, email=lookup_key(email))
    if user is None:
        raise errors.NotFound(f"No user with the email {email}.")
    fields = {"roles": sorted({"user", "admin", *user.roles})}
    updated = user_repository.update_fields(db=db, user_id=user.id, fields=fields, now=clock())
    assert updated is not None
    return updated
