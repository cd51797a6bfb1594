"""ImageKit's transformation syntax, the subset the local store serves."""

from __future__ import annotations

import io

import pytest
from PIL import Image, JpegImagePlugin

from chalicelib.images import transform
from chalicelib.images.transform import Step, TransformError
from tests.images.conftest import assert_clean_and_upright, make_image, phone_photo


def _render(data: bytes, tr: str, accept: str = "") -> Image.Image:
    steps = transform.parse(tr)
    output = transform.negotiate(steps, "jpeg", accept)
    return Image.open(io.BytesIO(transform.render(data, steps, output)))


def test_parse_reads_chained_steps() -> None:
    assert transform.parse("w-300,h-200,c-at_max:bl-10,q-60,f-webp") == (
        Step(width=300, height=200, crop="at_max"),
        Step(blur=10, quality=60, format="webp"),
    )
    assert transform.parse("ar-4-3,w-400") == (Step(width=400, aspect_ratio=(4, 3)),)
    assert transform.parse("w-0300") == (Step(width=300),)


@pytest.mark.parametrize(
    "text",
    [
        "w-0",
        "w-99999",
        "w-abc",
        "w-\u00b2",  # "²".isdigit() is true, yet int("²") raises
        "w-" + "9" * 5000,  # int() refuses over 4,300 digits
        "w-000000",
        "h--5",
        "q-101",
        "bl-0",
        "c-pad_resize",
        "f-tiff",
        "ar-4",
        "rt-90",
        "w",
        "w-10,w-20",
        "w-1:w-1:w-1:w-1:w-1:w-1",
    ],
)
def test_unsupported_or_out_of_range_parameters_are_errors(text: str) -> None:
    with pytest.raises(TransformError):
        transform.parse(text)


def test_width_alone_keeps_the_ratio() -> None:
    assert _render(make_image((400, 300)), "w-200").size == (200, 150)


def test_width_and_height_crop_to_fill_the_box() -> None:
    assert _render(make_image((400, 300)), "w-100,h-100").size == (100, 100)


def test_force_squashes_to_the_box() -> None:
    assert _render(make_image((400, 300)), "w-100,h-100,c-force").size == (100, 100)


def test_at_max_fits_inside_and_at_least_covers_the_box() -> None:
    source = make_image((400, 300))
    assert _render(source, "w-100,h-100,c-at_max").size == (100, 75)
    assert _render(source, "w-100,h-100,c-at_least").size == (133, 100)


def test_aspect_ratio_with_a_width_sets_the_height() -> None:
    assert _render(make_image((400, 300)), "w-160,ar-16-9").size == (160, 90)


def test_images_are_not_enlarged() -> None:
    assert _render(make_image((40, 30)), "w-400").size == (40, 30)


def test_chained_steps_apply_in_order() -> None:
    assert _render(make_image((400, 300)), "w-200:w-100,h-100").size == (100, 100)


def test_f_auto_follows_accept() -> None:
    steps = transform.parse("w-10,f-auto")
    assert transform.negotiate(steps, "jpeg", "image/avif,image/webp,*/*") == "avif"
    assert transform.negotiate(steps, "jpeg", "image/webp,*/*") == "webp"
    assert transform.negotiate(steps, "jpeg", "*/*") == "jpeg"
    assert transform.negotiate(steps, "gif", "*/*") == "png"


def test_the_output_is_encoded_in_the_requested_format() -> None:
    assert _render(make_image(), "f-webp").format == "WEBP"
    assert _render(make_image(), "w-10,f-png").format == "PNG"


def test_blur_changes_the_pixels() -> None:
    source = make_image((64, 64), "PNG")
    sharp = _render(source, "w-64,f-png")
    blurred = _render(source, "w-64,bl-20,f-png")
    assert sharp.tobytes() != blurred.tobytes()


def test_jpeg_draft_mode_decodes_a_reduced_image_for_small_targets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[tuple[int, int]] = []
    real = JpegImagePlugin.JpegImageFile.draft

    def spy(
        self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None
    ) -> object:
        result = real(self, mode, size)
        decoded.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    assert _render(make_image((1600, 1200)), "w-200").size == (200, 150)
    assert decoded == [(200, 150)]  # DCT-scaled by 8 instead of decoding 1600x1200


@pytest.mark.parametrize("output", ["jpeg", "png", "webp"])
def test_every_variant_is_upright_and_carries_no_metadata(output: transform.OutputFormat) -> None:
    steps = transform.parse("w-48")
    variant = transform.render(phone_photo((96, 64)), steps, output)
    assert_clean_and_upright(variant, turned_from=(96, 64))
    with Image.open(io.BytesIO(variant)) as image:
        assert image.size == (48, 72)  # the width asked is the upright one


def test_a_turned_jpeg_is_drafted_for_its_stored_orientation() -> None:
    # 1600x1200 stored, 1200x1600 upright: w-150 needs 150x200 upright, 200x150 stored.
    image = Image.open(io.BytesIO(phone_photo((1600, 1200))))
    assert transform.target_size((1200, 1600), transform.parse("w-150")[0]) == (150, 200)
    variant = transform.render(phone_photo((1600, 1200)), transform.parse("w-150"), "jpeg")
    assert Image.open(io.BytesIO(variant)).size == (150, 200)
    image.close()


def test_the_colour_profile_is_kept() -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = make_image((40, 30), icc_profile=icc)
    outputs: tuple[transform.OutputFormat, ...] = ("jpeg", "png", "webp")
    for output in outputs:
        variant = transform.render(source, transform.parse("w-20"), output)
        assert Image.open(io.BytesIO(variant)).info.get("icc_profile") == icc


@pytest.mark.parametrize(
    "text",
    [
        # An aspect ratio turns a width into a height of 400,000 px: refused before decoding.
        "w-4000,ar-1-100,c-force",
        "h-4000,ar-100-1,c-force",
        # Five full-size steps are 80 MP of resampling; two are the most a chain may cost.
        "w-4000,h-4000,c-force:w-3999,h-4000,c-force:w-4000,h-3999,c-force",
    ],
)
def test_outputs_beyond_the_size_bounds_are_refused_before_any_work(text: str) -> None:
    steps = transform.parse(text)  # within the per-parameter ranges
    with pytest.raises(TransformError):
        transform.check_cost((64, 48), steps)
    with pytest.raises(TransformError):
        transform.render(make_image((64, 48)), steps, "jpeg")


def test_the_chains_the_app_builds_are_within_the_bounds() -> None:
    from chalicelib.images import service

    every = [*service.VARIANTS.values(), service.PLACEHOLDER, "w-1600,f-auto", "w-640:bl-10"]
    for text in every:
        transform.check_cost((8000, 5000), transform.parse(text))
    transform.check_cost((64, 48), transform.parse("w-4000,h-4000,c-force"))


@pytest.mark.skipif(not transform.AVIF_SUPPORTED, reason="Pillow built without AVIF")
def test_avif_the_costly_encoder_has_a_tighter_bound_and_f_auto_steps_around_it() -> None:
    large = transform.parse("w-4000,h-4000,c-force,f-avif,q-100")
    with pytest.raises(TransformError, match="AVIF"):
        transform.render(make_image((64, 48)), large, "avif")
    auto = transform.parse("w-4000,h-4000,c-force,f-auto")
    accept = "image/avif,image/webp,*/*"
    assert transform.negotiate(auto, "jpeg", accept, size=(64, 48)) == "webp"
    small = transform.parse("w-640,f-auto")
    assert transform.negotiate(small, "jpeg", accept, size=(4000, 3000)) == "avif"
