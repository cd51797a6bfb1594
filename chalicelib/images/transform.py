"""ImageKit's transformation syntax (the subset we use) and a Pillow pipeline for it.

``parse("w-640,h-480,c-at_max:bl-10")`` gives the chained steps; ``render``
applies them. Used by the local store to serve ``/media/...?tr=...`` the way
ImageKit serves the same URL in production. Anything outside the subset is a
``TransformError`` (a 400 for the client), never a crash.

Supported: ``w``, ``h`` (pixels), ``c`` (``maintain_ratio``, ``force``,
``at_max``, ``at_least``), ``ar`` (``ar-4-3``), ``f`` (``auto``, ``webp``,
``jpg``, ``png``, ``avif`` when Pillow has it), ``q`` (1-100), ``bl`` (1-100).
Images are never enlarged beyond their original size, except by ``c-force``,
which always gives exactly the box asked for.

Like ImageKit's, every output is upright (EXIF orientation applied first) and
carries no metadata: EXIF, GPS, XMP and comments are left behind; the ICC
colour profile is kept (ImageKit's "Preserve only color profile").

Cost is bounded before any pixel is decoded. ImageKit refuses outputs over
100 megapixels and ignores sizes over 65,535 px (16,383 px for WebP); this
stand-in runs on the API's own CPU, so it is stricter: every side of every
step's output at most ``MAX_DIMENSION``, and the pixels a whole chain produces
at most ``MAX_CHAIN_PIXELS``. A box too large is a ``TransformError`` (400),
never a silent clamp, so the URL means the same here as on ImageKit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Literal

from PIL import Image, ImageFilter, ImageOps, features

from chalicelib.wire import parse_decimal

Crop = Literal["maintain_ratio", "force", "at_max", "at_least"]
OutputFormat = Literal["jpeg", "png", "webp", "avif"]

MAX_DIMENSION = 4000
MAX_STEPS = 5
# Two full-size steps: enough for any chain the app builds (`w-640:bl-10`), not five 16 MP ones.
MAX_CHAIN_PIXELS = 2 * MAX_DIMENSION * MAX_DIMENSION
# AVIF is the costly encoder (ImageKit lists it among its "expensive transformations"):
# 20 s for 16 MP at libavif's default effort here. Its outputs are bounded tighter, and
# encoded with less effort (0 slowest .. 10 fastest); f-auto picks WebP beyond the bound.
MAX_AVIF_PIXELS = 2048 * 2048
AVIF_SPEED = 8
_ORIENTATION = 0x0112
AVIF_SUPPORTED = bool(features.check("avif"))
_FORMATS: dict[str, OutputFormat | Literal["auto"]] = {
    "auto": "auto",
    "webp": "webp",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    **({"avif": "avif"} if AVIF_SUPPORTED else {}),
}
_CROPS: tuple[Crop, ...] = ("maintain_ratio", "force", "at_max", "at_least")
CONTENT_TYPES: dict[OutputFormat, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
}
_PILLOW_NAMES: dict[OutputFormat, str] = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "avif": "AVIF",
}
DEFAULT_QUALITY = 80


class TransformError(ValueError):
    """The transformation string is outside the supported subset."""


@dataclass(frozen=True)
class Step:
    width: int | None = None
    height: int | None = None
    crop: Crop = "maintain_ratio"
    aspect_ratio: tuple[int, int] | None = None
    format: OutputFormat | Literal["auto"] | None = None
    quality: int | None = None
    blur: int | None = None


def parse(text: str) -> tuple[Step, ...]:
    """Parse ``w-100,h-100:bl-5`` into steps; raise ``TransformError`` naming the problem."""
    if not text:
        return ()
    chunks = text.split(":")
    if len(chunks) > MAX_STEPS:
        raise TransformError(f"At most {MAX_STEPS} chained steps are supported.")
    return tuple(_parse_step(chunk) for chunk in chunks)


def _parse_step(chunk: str) -> Step:
    step = Step()
    seen: set[str] = set()
    for part in chunk.split(","):
        key, sep, value = part.partition("-")
        if not sep or not value:
            raise TransformError(f"'{part}' is not a key-value pair like w-300.")
        if key in seen:
            raise TransformError(f"'{key}' is given twice in one step.")
        seen.add(key)
        if key == "w":
            step = replace(step, width=_int(key, value, 1, MAX_DIMENSION))
        elif key == "h":
            step = replace(step, height=_int(key, value, 1, MAX_DIMENSION))
        elif key == "c":
            if value not in _CROPS:
                raise TransformError(f"c-{value} is not supported; use one of {', '.join(_CROPS)}.")
            step = replace(step, crop=value)
        elif key == "ar":
            width, sep, height = value.partition("-")
            if not sep:
                raise TransformError("ar takes two numbers, like ar-4-3.")
            step = replace(step, aspect_ratio=(_int(key, width, 1, 100), _int(key, height, 1, 100)))
        elif key == "f":
            if value not in _FORMATS:
                raise TransformError(
                    f"f-{value} is not supported; use one of {', '.join(_FORMATS)}."
                )
            step = replace(step, format=_FORMATS[value])
        elif key == "q":
            step = replace(step, quality=_int(key, value, 1, 100))
        elif key == "bl":
            step = replace(step, blur=_int(key, value, 1, 100))
        else:
            raise TransformError(f"The transformation '{key}' is not supported.")
    return step


def _int(key: str, value: str, low: int, high: int) -> int:
    number = parse_decimal(value)
    if number is None:
        raise TransformError(f"{key} takes a whole number, got '{value[:20]}'.")
    if not low <= number <= high:
        raise TransformError(f"{key} must be between {low} and {high}, got {number}.")
    return number


def canonical(steps: tuple[Step, ...]) -> str:
    """One spelling per meaning: the cache key of a rendered variant."""
    return ":".join(repr(step) for step in steps)


def negotiate(
    steps: tuple[Step, ...], source: str, accept: str, *, size: tuple[int, int] | None = None
) -> OutputFormat:
    """The output format: the last ``f`` wins; ``f-auto`` picks what ``Accept`` allows.

    With the source's upright ``size``, ``f-auto`` avoids AVIF for outputs over its bound.
    """
    wanted = next((s.format for s in reversed(steps) if s.format is not None), None)
    if wanted is not None and wanted != "auto":
        return wanted
    if wanted == "auto":
        accepted = accept.lower()
        small = size is None or _pixels(output_size(size, steps)) <= MAX_AVIF_PIXELS
        if AVIF_SUPPORTED and "image/avif" in accepted and small:
            return "avif"
        if "image/webp" in accepted:
            return "webp"
    # GIF and anything else without a transparent-friendly default become PNG.
    return "jpeg" if source == "jpeg" else "png"


def render(data: bytes, steps: tuple[Step, ...], output: OutputFormat) -> bytes:
    """Apply ``steps`` to the image in ``data`` and encode it as ``output``, without metadata.

    Raises ``TransformError`` when the chain would produce more pixels than allowed.
    """
    with Image.open(io.BytesIO(data)) as image:
        final = check_cost(_upright_size(image), steps)
        if output == "avif" and _pixels(final) > MAX_AVIF_PIXELS:
            raise TransformError(f"AVIF outputs are limited to {MAX_AVIF_PIXELS} pixels.")
        _draft(image, steps)
        icc_profile = image.info.get("icc_profile")
        # exif_transpose is a no-op copy without an Orientation tag.
        upright = ImageOps.exif_transpose(image)
        current: Image.Image = upright.convert("RGBA" if _has_alpha(image) else "RGB")
    for step in steps:
        current = _apply(current, step)
    quality = next((s.quality for s in reversed(steps) if s.quality is not None), DEFAULT_QUALITY)
    if output == "jpeg" and current.mode != "RGB":
        current = current.convert("RGB")
    # Pillow writes back what it read (a JPEG comment, XMP): the output starts with nothing.
    current.info = {}
    out = io.BytesIO()
    options: dict[str, object] = {"quality": quality}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if output == "webp":
        options["method"] = 4
    elif output == "avif":
        options["speed"] = AVIF_SPEED
    current.save(out, _PILLOW_NAMES[output], **options)
    return out.getvalue()


def upright_size(data: bytes) -> tuple[int, int] | None:
    """The size an image shows at (EXIF orientation applied), from its header alone."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return _upright_size(image)
    except Exception:  # not an image: render will say so
        return None


def output_size(size: tuple[int, int], steps: tuple[Step, ...]) -> tuple[int, int]:
    """The size (at most) the chain produces from an upright image of ``size``."""
    for step in steps:
        box = target_size(size, step)
        if box is not None:
            size = _output_size(size, box, step.crop)
    return size


def _pixels(size: tuple[int, int]) -> int:
    return size[0] * size[1]


def check_cost(size: tuple[int, int], steps: tuple[Step, ...]) -> tuple[int, int]:
    """Refuse a chain whose outputs, step by step from ``size``, exceed the bounds.

    Returns the size of the final output.
    """
    total = 0
    for step in steps:
        box = target_size(size, step)
        if box is not None:
            if max(box) > MAX_DIMENSION:
                raise TransformError(
                    f"The output would be {box[0]}x{box[1]} px; at most {MAX_DIMENSION} px a side."
                )
            size = _output_size(size, box, step.crop)
        total += size[0] * size[1]
    if total > MAX_CHAIN_PIXELS:
        raise TransformError(
            f"The chain would render {total} pixels; at most {MAX_CHAIN_PIXELS} are allowed."
        )
    return size


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """The size after EXIF orientation: orientations 5-8 swap width and height."""
    try:
        orientation = image.getexif().get(_ORIENTATION)
    except Exception:  # a corrupt EXIF block: exif_transpose will ignore it too
        orientation = None
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _draft(image: Image.Image, steps: tuple[Step, ...]) -> None:
    """Let the JPEG decoder skip detail (DCT scaling) the first resize throws away.

    ``draft`` never goes below the requested size, so the result is the same
    image at a fraction of the decoding cost for thumbnails of large photos.
    """
    if image.format != "JPEG" or not steps:
        return
    upright = _upright_size(image)
    box = target_size(upright, steps[0])
    if box is not None:
        # The decoder works on the stored (not yet rotated) pixels.
        stored = box if upright == image.size else (box[1], box[0])
        image.draft("RGB", stored)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def target_size(size: tuple[int, int], step: Step) -> tuple[int, int] | None:
    """The box one step asks for, with the aspect ratio applied (None: no resize)."""
    width, height = step.width, step.height
    if step.aspect_ratio is not None:
        ratio = step.aspect_ratio[0] / step.aspect_ratio[1]
        if width is not None and height is None:
            height = max(1, round(width / ratio))
        elif height is not None and width is None:
            width = max(1, round(height * ratio))
        elif width is None and height is None:
            # Crop the original to the ratio.
            if size[0] / size[1] > ratio:
                width, height = round(size[1] * ratio), size[1]
            else:
                width, height = size[0], round(size[0] / ratio)
    if width is None and height is None:
        return None
    source_w, source_h = size
    if width is None:
        assert height is not None
        width = max(1, round(source_w * height / source_h))
    if height is None:
        height = max(1, round(source_h * width / source_w))
    return width, height


def _apply(image: Image.Image, step: Step) -> Image.Image:
    box = target_size(image.size, step)
    if box is not None:
        image = _resize(image, box, step.crop)
    if step.blur is not None:
        # ImageKit's bl-1..100; a radius relative to the image keeps the look at any size.
        radius = step.blur * max(image.size) / 400
        image = image.filter(ImageFilter.GaussianBlur(radius=max(radius, 0.5)))
    return image


def _output_size(size: tuple[int, int], box: tuple[int, int], crop: Crop) -> tuple[int, int]:
    """The size ``_resize`` gives an image of ``size`` for ``box`` (at most, when it crops)."""
    if crop == "force":
        return box
    source_w, source_h = size
    width, height = box
    if crop == "at_max":
        scale = min(width / source_w, height / source_h, 1.0)
    else:
        scale = min(max(width / source_w, height / source_h), 1.0)
    return max(1, round(source_w * scale)), max(1, round(source_h * scale))


def _resize(image: Image.Image, box: tuple[int, int], crop: Crop) -> Image.Image:
    width, height = box
    source_w, source_h = image.size
    if crop == "force":
        return image.resize((width, height), Image.Resampling.LANCZOS)
    if crop == "at_max":
        scale = min(width / source_w, height / source_h, 1.0)
    elif crop == "at_least":
        scale = min(max(width / source_w, height / source_h), 1.0)
    else:
        # maintain_ratio: fill the box, centre-crop what overflows.
        scale = min(max(width / source_w, height / source_h), 1.0)
        if scale == 1.0 and (width > source_w or height > source_h):
            # Never enlarge: crop the original to the box's ratio instead.
            ratio = width / height
            fit_w = min(source_w, round(source_h * ratio))
            fit_h = min(source_h, round(fit_w / ratio))
            return ImageOps.fit(image, (max(fit_w, 1), max(fit_h, 1)), Image.Resampling.LANCZOS)
        return ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
    new_size = (max(1, round(source_w * scale)), max(1, round(source_h * scale)))
    return image if new_size == image.size else image.resize(new_size, Image.Resampling.LANCZOS)
