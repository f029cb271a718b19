"""The model capability table: sizes, qualities, counts and prompt limits per model."""

import pytest

from bot.services.capabilities import KNOWN_MODELS, ImageOptions, Shape, capabilities_for
from bot.services.errors import UnsupportedOptionError


def test_gpt_image_models_map_shapes_to_their_sizes() -> None:
    model = capabilities_for("gpt-image-1-mini")
    assert model.resolve("a cat", Shape.SQUARE, None, 1) == ImageOptions("1024x1024", None, 1)
    assert model.resolve("a cat", Shape.LANDSCAPE, "high", 4) == ImageOptions("1536x1024", "high", 4)
    assert model.resolve("a cat", Shape.PORTRAIT, "low", 2) == ImageOptions("1024x1536", "low", 2)


def test_legacy_proxy_models_translate_quality_and_refuse_what_they_cannot_do() -> None:
    dalle3 = capabilities_for("dall-e-3")
    assert dalle3.resolve("x", Shape.LANDSCAPE, "high", 1) == ImageOptions("1792x1024", "hd", 1)
    with pytest.raises(UnsupportedOptionError) as caught:
        dalle3.resolve("x", Shape.SQUARE, None, 2)
    assert caught.value.option == "count"
    with pytest.raises(UnsupportedOptionError) as caught:
        dalle3.resolve("x", Shape.SQUARE, "low", 1)
    assert caught.value.option == "quality"
    dalle2 = capabilities_for("dall-e-2")
    with pytest.raises(UnsupportedOptionError) as caught:
        dalle2.resolve("x", Shape.PORTRAIT, None, 1)
    assert caught.value.option == "size"
    assert "square" in caught.value.reason
    with pytest.raises(UnsupportedOptionError) as caught:
        dalle2.resolve("x" * 1001, Shape.SQUARE, None, 1)
    assert caught.value.option == "prompt"


def test_unknown_models_get_the_safest_subset() -> None:
    model = capabilities_for("some-proxy-model")
    assert model.resolve("x", Shape.SQUARE, None, 1) == ImageOptions("1024x1024", None, 1)
    with pytest.raises(UnsupportedOptionError):
        model.resolve("x", Shape.SQUARE, "high", 1)
    with pytest.raises(UnsupportedOptionError):
        model.resolve("x", Shape.LANDSCAPE, None, 1)


def test_blank_prompts_are_refused() -> None:
    with pytest.raises(UnsupportedOptionError) as caught:
        capabilities_for("gpt-image-2").resolve(" \n\t ", Shape.SQUARE, None, 1)
    assert caught.value.option == "prompt"


@pytest.mark.parametrize("name", sorted(KNOWN_MODELS))
def test_every_known_model_makes_a_square_image(name: str) -> None:
    assert KNOWN_MODELS[name].resolve("x", Shape.SQUARE, None, 1).size == "1024x1024"
