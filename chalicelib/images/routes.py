"""Image endpoints, avatars, and the local store's media delivery and direct upload."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Request

from chalicelib import errors, lazy, wire
from chalicelib.routing import Answer, Context, RawBody, Router

# The first request that needs them loads the service (pymongo, the image store)
# and the models (pydantic); importing the app (a Lambda cold start) loads neither.
if TYPE_CHECKING:
    from chalicelib.images import form, models, service
    from chalicelib.principal import Principal
else:
    form = lazy.module("chalicelib.images.form")
    models = lazy.module("chalicelib.images.models")
    service = lazy.module("chalicelib.images.service")

router = Router(__name__, tag="images")

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


@router.route(
    "/images",
    "POST",
    raw_body=RawBody({"image/*": None, "multipart/form-data": "UploadForm"}),
    query="UploadQuery",
    response="ImagePublic",
    status=201,
    errors=[400, 413, 415, 422, 502, 503],
    auth="verified",
)
def upload_image(ctx: Context, *, query: models.UploadQuery, user: Principal) -> models.ImagePublic:
    """Upload an image: a raw `image/*` body, or `multipart/form-data` field `file`.

    JPEG, PNG, WebP, GIF or AVIF (checked by decoding), at most 4 MiB and 40
    megapixels. It is stored upright and without EXIF/GPS metadata, and stays
    `pending` until a post or the avatar uses it. `alt` is a query parameter
    or a multipart field.
    """
    data, alt = _upload_body(ctx.request, alt=query.alt)
    return service.upload(
        db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, user=user, data=data, alt=alt
    )


@router.route("/images/upload-auth", response="UploadAuth", errors=[502], auth="verified")
def upload_auth(ctx: Context, *, user: Principal) -> models.UploadAuth:
    """Parameters for one direct browser upload (single-use token, 30 minutes, your folder)."""
    return service.upload_auth(image_store=ctx.image_store, clock=ctx.clock, user=user)


@router.route(
    "/images/register",
    "POST",
    body="RegisterImage",
    response="ImagePublic",
    status=201,
    errors=[409, 422, 502, 503],
    auth="verified",
)
def register_image(
    ctx: Context, *, body: models.RegisterImage, user: Principal
) -> models.ImagePublic:
    """Adopt a directly uploaded file once the store confirms it is your allowed image."""
    return service.register(
        db=ctx.db,
        image_store=ctx.image_store,
        clock=ctx.clock,
        user=user,
        file_id=body.file_id,
        alt=body.alt,
    )


@router.route("/images/{image_id}", response="ImagePublic", errors=[404], auth="verified")
def get_image(ctx: Context, image_id: str, *, user: Principal) -> models.ImagePublic:
    """One of your images, with signed URLs (admins may read any)."""
    return service.get_image(db=ctx.db, image_store=ctx.image_store, user=user, image_id=image_id)


@router.route(
    "/images/{image_id}",
    "PATCH",
    body="ImageUpdate",
    response="ImagePublic",
    errors=[404, 422],
    auth="verified",
)
def update_image(
    ctx: Context, image_id: str, *, body: models.ImageUpdate, user: Principal
) -> models.ImagePublic:
    """Set the alt text of one of your images (admins may set any image's); null clears it.

    Posts render alt from the image, so every post and feed showing it has the new text.
    """
    return service.update_alt(
        db=ctx.db, image_store=ctx.image_store, user=user, image_id=image_id, alt=body.alt
    )


@router.route("/images/{image_id}", "DELETE", status=204, errors=[404, 409], auth="verified")
def delete_image(ctx: Context, image_id: str, *, user: Principal) -> None:
    """Delete an image no post or avatar uses; the file goes from the store too."""
    service.delete_image(
        db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, user=user, image_id=image_id
    )


@router.route(
    "/users/me/avatar",
    "PUT",
    body="SetAvatar",
    response="AvatarPublic",
    errors=[404, 422],
    auth="verified",
)
def set_avatar(ctx: Context, *, body: models.SetAvatar, user: Principal) -> models.AvatarPublic:
    """Use one of your unused images as your avatar; the previous avatar is deleted."""
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
    service.clear_avatar(db=ctx.db, image_store=ctx.image_store, clock=ctx.clock, user=user)


@router.route("/media/upload", "POST", errors=[400, 403, 404, 413, 422], include_in_schema=False)
def local_direct_upload(ctx: Context) -> dict[str, Any]:
    """Local image store only: ImageKit's upload API, checking the same signature."""
    parts = form.parse(_raw_body(ctx.request), ctx.request.headers.get("content-type", ""))
    file = parts.get("file")
    if file is None:
        raise errors.InvalidInput.field("file", "Send the file in the multipart field 'file'.")
    fields = {name: part.text for name, part in parts.items() if name != "file"}
    return service.local_direct_upload(
        image_store=ctx.image_store, data=bytes(file.data), fields=fields
    )


def _media_view(ctx: Context, **segments: str) -> Answer:
    """Local image store only: the file, transformed with ImageKit's `tr` syntax."""
    request = ctx.request
    params: dict[str, str] = dict(request.query_params or {})
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
        fields = wire.validate(models.UploadForm, {"file": bytes(file.data), "alt": alt})
        return fields.file, fields.alt
    raise errors.UnsupportedMediaType(
        f"Send an image/* body or multipart/form-data (got {kind or 'no Content-Type'})."
    )


def _raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw
