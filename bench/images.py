"""Image pipeline timings, each against a baseline measured in the same run.

    python -m bench.images            (make bench)

1. The local store's transform of a generated 12 MP JPEG to a 640 px WebP
   (``tr=w-640,f-webp``): p50 with JPEG draft mode, against the same transform
   with draft mode switched off.
2. Upload validation (decode, orientation, metadata strip, re-encode) per MiB
   of upload, against a plain full decode of the same bytes.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from PIL import Image

from chalicelib.images import formats, transform, validation

RUNS = 7
MIB = 1024 * 1024


def photo(width: int, height: int, *, quality: int = 92) -> bytes:
    """A photo-like JPEG: gradients plus noise, so the encoder cannot cheat."""
    noise = Image.effect_noise((width, height), 48)
    red = Image.linear_gradient("L").resize((width, height))
    blue = red.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    image = Image.merge("RGB", (red, noise, blue))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def p50(action: Callable[[], Any], runs: int = RUNS) -> float:
    action()  # warm up: plugin imports, allocator
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


@contextmanager
def draft_mode_off() -> Any:
    original = transform._draft
    transform._draft = lambda image, steps: None
    try:
        yield
    finally:
        transform._draft = original


def bench_transform() -> None:
    source = photo(4000, 3000)
    steps = transform.parse("w-640,f-webp")
    output = transform.negotiate(steps, "jpeg", "image/webp")
    result = Image.open(io.BytesIO(transform.render(source, steps, output)))
    assert result.size == (640, 480)
    assert result.format == "WEBP"
    with_draft = p50(lambda: transform.render(source, steps, output))
    with draft_mode_off():
        without_draft = p50(lambda: transform.render(source, steps, output))
    print(f"transform 12 MP JPEG ({len(source) / MIB:.1f} MiB) -> 640 px WebP, p50 of {RUNS}:")
    print(f"  with draft mode     {with_draft * 1000:8.1f} ms")
    print(f"  without (baseline)  {without_draft * 1000:8.1f} ms")
    print(f"  speed-up            {without_draft / with_draft:8.2f}x")


def bench_validation() -> None:
    print(f"upload validation per MiB, p50 of {RUNS} (baseline: a plain full decode):")
    for width, height in ((1600, 1200), (2400, 1800), (3000, 2250)):
        data = photo(width, height, quality=85)
        assert len(data) <= formats.MAX_UPLOAD_BYTES
        size_mib = len(data) / MIB

        def decode_only(data: bytes = data) -> None:
            with Image.open(io.BytesIO(data)) as image:
                image.load()

        def clean(data: bytes = data) -> None:
            validation.clean(data)

        cleaned = p50(clean)
        decoded = p50(decode_only)
        print(
            f"  {width}x{height} ({size_mib:.2f} MiB):"
            f" clean {cleaned / size_mib * 1000:6.1f} ms/MiB,"
            f" decode {decoded / size_mib * 1000:6.1f} ms/MiB,"
            f" overhead x{cleaned / decoded:.2f}"
        )


if __name__ == "__main__":
    bench_transform()
    bench_validation()
