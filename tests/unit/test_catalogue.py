"""The model catalogue: what each model takes, and how a member's choices become a request."""

import json

import pytest

from bot.core.errors import CannotEditError, InputImageError, UnsupportedOptionError
from bot.core.images.catalogue import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    Aspect,
    Background,
    ImageOptions,
    ImageRequest,
    ModelCatalogue,
    OutputSettings,
    SizeLimits,
    capabilities_for,
    is_image_model,
)

RETIRED = ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest", "dall-e-2", "dall-e-3")


def test_retired_models_left_the_catalogue_and_the_default_is_active() -> None:
    assert not set(RETIRED) & set(KNOWN_MODELS)
    assert DEFAULT_MODEL in KNOWN_MODELS


@pytest.mark.parametrize(
    ("aspect", "size"),
    [
        (Aspect.SQUARE, "1024x1024"),
        (Aspect.LANDSCAPE, "1536x1024"),
        (Aspect.PORTRAIT, "1024x1536"),
        (Aspect.WIDE, "1536x864"),
        (Aspect.TALL, "864x1536"),
    ],
)
def test_the_free_size_families_map_every_aspect_to_a_valid_size(aspect: Aspect, size: str) -> None:
    for model in ("gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst-2026-09-08"):
        options = capabilities_for(model).resolve("a cat", ImageRequest(aspect=aspect))
        assert options.size == size
        width, height = (int(edge) for edge in size.split("x"))
        limits = SizeLimits()
        assert width % 16 == 0
        assert height % 16 == 0
        assert limits.min_pixels <= width * height <= limits.max_pixels
        assert max(width, height) / min(width, height) <= limits.max_ratio


def test_gpt_image_2_6_takes_only_the_standard_sizes() -> None:
    flare = capabilities_for("gpt-image-2.6-flare")
    assert flare.resolve("x", ImageRequest(aspect=Aspect.LANDSCAPE)).size == "1536x1024"
    with pytest.raises(UnsupportedOptionError) as caught:
        flare.resolve("x", ImageRequest(aspect=Aspect.WIDE))
    assert caught.value.option == "aspect"
    assert "1:1, 3:2, 2:3" in caught.value.reason


def test_qualities_per_family() -> None:
    assert capabilities_for("gpt-image-2.5-flare").resolve("x", ImageRequest(quality="max")).quality == "max"
    with pytest.raises(UnsupportedOptionError, match="low, medium, high"):
        capabilities_for("gpt-image-2").resolve("x", ImageRequest(quality="xhigh"))


def test_transparent_backgrounds_only_where_the_model_makes_them() -> None:
    transparent = ImageRequest(background=Background.TRANSPARENT)
    options = capabilities_for("gpt-image-2.5-flare").resolve("x", transparent, OutputSettings("png"))
    assert (options.background, options.output_format) == ("transparent", "png")
    with pytest.raises(UnsupportedOptionError, match="cannot make transparent backgrounds"):
        capabilities_for("gpt-image-2").resolve("x", transparent)
    opaque = capabilities_for("gpt-image-2").resolve("x", ImageRequest(background=Background.OPAQUE))
    assert opaque.background == "opaque"


def test_a_transparent_picture_on_a_jpeg_server_comes_as_webp() -> None:
    options = capabilities_for("gpt-image-2.6-sunburst").resolve(
        "x", ImageRequest(background=Background.TRANSPARENT), OutputSettings("jpeg", 60)
    )
    assert (options.output_format, options.output_compression) == ("webp", 60)


def test_the_servers_format_and_compression_go_with_every_request_but_png_takes_no_compression() -> None:
    model = capabilities_for("gpt-image-2")
    assert model.resolve("x", ImageRequest(), OutputSettings("webp", 70)) == ImageOptions(
        "gpt-image-2", "1024x1024", None, 1, None, "webp", 70
    )
    assert model.resolve("x", ImageRequest(), OutputSettings("png", 70)).output_compression is None


def test_an_unknown_model_gets_the_safe_subset_and_no_gpt_image_options() -> None:
    model = capabilities_for("acme-diffusion-xl")
    assert model.resolve("x", ImageRequest(), OutputSettings("webp", 50)) == ImageOptions(
        "acme-diffusion-xl", "1024x1024", None, 1
    )
    for request, option in [
        (ImageRequest(quality="high"), "quality"),
        (ImageRequest(aspect=Aspect.LANDSCAPE), "aspect"),
        (ImageRequest(count=2), "count"),
        (ImageRequest(background=Background.OPAQUE), "background"),
    ]:
        with pytest.raises(UnsupportedOptionError) as caught:
            model.resolve("x", request)
        assert caught.value.option == option
    assert not model.moderation_levels
    assert not model.streams


def test_prompts_are_limited_per_model() -> None:
    with pytest.raises(UnsupportedOptionError, match="empty"):
        capabilities_for("gpt-image-2").resolve(" \n\t ", ImageRequest())
    with pytest.raises(UnsupportedOptionError, match="at most 4000"):
        capabilities_for("proxy-model").resolve("x" * 4001, ImageRequest())
    capabilities_for("gpt-image-2").check_prompt("x" * 32000)


def test_the_catalogue_offers_its_models_default_first_and_falls_back_to_the_default() -> None:
    catalogue = ModelCatalogue(["gpt-image-2.6-flare", "gpt-image-2"])
    assert catalogue.names == ("gpt-image-2.6-flare", "gpt-image-2")
    assert catalogue.resolve("x", ImageRequest()).model == "gpt-image-2.6-flare"
    assert catalogue.resolve("x", ImageRequest(model="gpt-image-2")).model == "gpt-image-2"
    # An old result's Reroll after the operator dropped its model: the default makes it.
    assert catalogue.resolve("x", ImageRequest(model="gpt-image-1-mini")).model == "gpt-image-2.6-flare"
    assert catalogue.aspects() == list(Aspect)  # gpt-image-2 makes the wide ones
    assert catalogue.qualities() == ["low", "medium", "high", "xhigh", "max"]


def test_requests_survive_their_record_and_old_records_are_read() -> None:
    request = ImageRequest(Aspect.WIDE, "high", 2, Background.TRANSPARENT, "gpt-image-2.5-flare")
    assert ImageRequest.from_record(request.record()) == request
    legacy = ImageRequest.from_record({"size": "1536x1024", "quality": "hd", "count": 1})
    assert legacy == ImageRequest(aspect=Aspect.LANDSCAPE)
    assert ImageRequest.from_record({"size": "1792x1024", "quality": "low", "count": 2}).aspect is Aspect.WIDE


def test_image_models_are_told_from_others() -> None:
    assert is_image_model("gpt-image-2.7-ember")
    assert is_image_model("gpt-image-2.5-flare")
    assert not is_image_model("gpt-5")
    assert not is_image_model("omni-moderation-latest")


@pytest.mark.parametrize(
    ("model", "takes"),
    [("gpt-image-2", 16), ("gpt-image-2.5-flare", 16), ("gpt-image-2.6-sunburst", 0), ("my-proxy-model", 0)],
)
def test_only_models_documented_to_edit_take_pictures(model: str, takes: int) -> None:
    capabilities = capabilities_for(model)
    assert capabilities.max_inputs == takes
    if takes:
        capabilities.resolve("a hat on my cat", ImageRequest(), inputs=takes)
        with pytest.raises(InputImageError):
            capabilities.resolve("a hat on my cat", ImageRequest(), inputs=takes + 1)
    else:
        with pytest.raises(CannotEditError):
            capabilities.resolve("a hat on my cat", ImageRequest(), inputs=1)
    capabilities.resolve("a cat", ImageRequest())  # a plain generation is unaffected


def test_a_remix_request_keeps_its_pictures_and_source_through_the_database() -> None:
    request = ImageRequest(inputs_id=7, source_url="https://discord.com/channels/1/2/3")
    assert request.remix
    assert ImageRequest.from_record(json.loads(json.dumps(request.record()))) == request
    assert not ImageRequest().remix
