"""Image endpoints, avatars, and the local store's media delivery and direct upload."""

from __future__ import annotations

from typing import Any

from chalice.app import Request
from pydantic import Field, ValidationError

from chalicelib import errors, wire
from chalicelib.images import form
from chalicelib.images.models import (
    AvatarPublic,
    ImagePublic,
    ImageUpdate,
    RegisterImage,
    SetAvatar,
    UploadAuth,
    UploadForm,
)
from chalicelib.model import Model
from chalicelib.principal import Principal
from chalicelib.routing import Answer, Context, RawBody, Router

router = Router(__name__, tag="images")

# Views import the service when called: it loads pymongo and Pillow, and
# importing the app (a Lambda cold start, /health) must not pay for them.

# The bodies API Gateway passes as bytes (base64): uploads and media.
BINARY_TYPES = [
    # A client that accepts any image (Accept: image/*) gets the bytes; without this,
    # Chalice and API Gateway answer 400 unless Accept names the exact type or */*.
    "image/*",
    "multipart/form-data",
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/avif",
]

# Chalice's local gateway matches `{path+}` for one segment only, so media is
# declared once per depth; API Gateway matches these the same way.
MEDIA_DEPTH = 7


class UploadQuery(Model):
    alt: str | None = Field(default=None, max_length=300)


@router.route(
    "/images",
    "POST",
    raw_body=RawBody({"image/*": None, "multipart/form-data": UploadForm}),
    query=UploadQuery,
    response=ImagePublic,
    status=201,
    errors=[400, 413, 415, 422, 502, 503],
    auth="verified",
)
def upload_image(ctx: Context, *, query: UploadQuery, user: Principal) -> ImagePublic:
    """Upload an image: a raw `image/*` body, or `multipart/form-data` field `file`.

    JPEG, PNG, WebP, GIF or AVIF (checked by decoding), at most 4 MiB and 40
    megapixels. It is stored upright and without EXIF/GPS metadata, and stays
    `pending` until a post or the avatar uses it. `alt` is a query parameter
    or a multipart field.
    """
    data, alt = _upload_body(ctx.request, alt=query.alt)
    from chalicelib.images import service

    return service.upload(
        db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, user=user, data=data, alt=alt
    )


@router.route("/images/upload-auth", response=UploadAuth, errors=[502], auth="verified")
def upload_auth(ctx: Context, *, user: Principal) -> UploadAuth:
    """Parameters for one direct browser upload (single-use token, 30 minutes, your folder)."""
    from chalicelib.images import service

    return service.upload_auth(image_store=ctx.image_store, clock=ctx.clock, user=user)


@router.route(
    "/images/register",
    "POST",
    body=RegisterImage,
    response=ImagePublic,
    status=201,
    errors=[409, 422, 502, 503],
    auth="verified",
)
def register_image(ctx: Context, *, body: RegisterImage, user: Principal) -> ImagePublic:
    """Adopt a directly uploaded file once the store confirms it is your allowed image."""
    from chalicelib.images import service

    return service.register(
        db=ctx.db,
        image_store=ctx.image_store,
        clock=ctx.clock,
        user=user,
        file_id=body.file_id,
        alt=body.alt,
    )


@router.route("/images/{image_id}", response=ImagePublic, errors=[404], auth="verified")
def get_image(ctx: Context, image_id: str, *, user: Principal) -> ImagePublic:
    """One of your images, with signed URLs (admins may read any)."""
    from chalicelib.images import service

    return service.get_image(db=ctx.db, image_store=ctx.image_store, user=user, image_id=image_id)


@router.route(
    "/images/{image_id}",
    "PATCH",
    body=ImageUpdate,
    response=ImagePublic,
    errors=[404, 422],
    auth="verified",
)
def update_image(ctx: Context, image_id: str, *, body: ImageUpdate, user: Principal) -> ImagePublic:
    """Set the alt text of one of your images (admins may set any image's); null clears it.

    Posts render alt from the image, so every post and feed showing it has the new text.
    """
    from chalicelib.images import service

    return service.update_alt(
        db=ctx.db, image_store=ctx.image_store, user=user, image_id=image_id, alt=body.alt
    )


@router.route("/images/{image_id}", "DELETE", status=204, errors=[404, 409], auth="verified")
def delete_image(ctx: Context, image_id: str, *, user: Principal) -> None:
    """Delete an image no post or avatar uses; the file goes from the store too."""
    from chalicelib.images import service

    service.delete_image(
        db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, user=user, image_id=image_id
    )


@router.route(
    "/users/me/avatar",
    "PUT",
    body=SetAvatar,
    response=AvatarPublic,
    errors=[404, 422],
    auth="verified",
)
def set_avatar(ctx: Context, *, body: SetAvatar, user: Principal) -> AvatarPublic:
    """Use one of your unused images as your avatar; the previous avatar is deleted."""
    from chalicelib.images import service

    return service.set_avatar(
        db=ctx.db,
        image_store=ctx.image_store,
        clock=ctx.clock,
        user=user,
        image_id=body.image_id,
    )


@router.route("/users/me/avatar", "DELETE", status=204, errors=[404], auth="verified")
def clear_avatar(ctx: Context, *, user: Principal) -> None:
    """Remove your avatar; its image is deleted."""
    from chalicelib.images import service

    service.clear_avatar(db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, user=user)


@router.route("/media/upload", "POST", errors=[400, 403, 404, 413, 422], include_in_schema=False)
def local_direct_upload(ctx: Context) -> dict[str, Any]:
    """Local image store only: ImageKit's upload API, checking the same signature."""
    parts = form.parse(_raw_body(ctx.request), ctx.request.headers.get("content-type", ""))
    file = parts.get("file")
    if file is None:
        raise errors.InvalidInput.field("file", "Send the file in the multipart field 'file'.")
    fields = {name: part.text for name, part in parts.items() if name != "file"}
    from chalicelib.images import service

    return service.local_direct_upload(
        image_store=ctx.image_store, data=bytes(file.data), fields=fields
    )


def _media_view(ctx: Context, **segments: str) -> Answer:
    """Local image store only: the file, transformed with ImageKit's `tr` syntax."""
    request = ctx.request
    params: dict[str, str] = dict(request.query_params or {})
    from chalicelib.images import service

    delivery = service.deliver_media(
        image_store=ctx.image_store,
        segments=[segments[f"p{i}"] for i in range(1, len(segments) + 1)],
        query={key: params[key] for key in params},
        accept=request.headers.get("accept", ""),
        if_none_match=request.headers.get("if-none-match"),
    )
    headers: dict[str, str | list[str]] = {
        "ETag": delivery.etag,
        "Cache-Control": delivery.cache_control,
    }
    if delivery.vary_accept:
        headers["Vary"] = "Accept"
    if delivery.not_modified:
        return Answer(headers=headers, status=304)
    return Answer(delivery.body, headers=headers, media_type=delivery.content_type)


for _depth in range(1, MEDIA_DEPTH + 1):
    _path = "/media/" + "/".join(f"{{p{i}}}" for i in range(1, _depth + 1))
    _view: Any = lambda ctx, **segments: _media_view(ctx, **segments)  # noqa: E731
    _view.__name__ = f"media_depth_{_depth}"
    _view.__doc__ = _media_view.__doc__
    router.route(_path, errors=[400, 403, 404], include_in_schema=_depth == 1)(_view)


def _upload_body(request: Request, *, alt: str | None) -> tuple[bytes, str | None]:
    """The image bytes and alt text, from a raw image body or a multipart form."""
    kind = wire.media_type(request)
    body = _raw_body(request)
    if kind.startswith("image/"):
        return body, alt
    if kind == "multipart/form-data":
        parts = form.parse(body, request.headers.get("content-type", ""))
        file = parts.get("file")
        if file is None:
            raise errors.InvalidInput.field("file", "Send the image in the multipart field 'file'.")
        alt_part = parts.get("alt")
        if alt_part is not None:
            alt = alt_part.text.strip() or None
        try:
            fields = UploadForm.model_validate({"file": bytes(file.data), "alt": alt})
        except ValidationError as exc:
            raise wire.validation_error(exc) from None
        return fields.file, fields.alt
    raise errors.UnsupportedMediaType(
        f"Send an image/* body or multipart/form-data (got {kind or 'no Content-Type'})."
    )


def _raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw
