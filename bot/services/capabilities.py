"""What each image model can do: the one place that knows sizes, qualities, counts and prompt limits."""

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from bot.services.errors import UnsupportedOptionError

log = logging.getLogger(__name__)


class Shape(StrEnum):
    """The picture shapes members choose from; each model maps them to its own pixel sizes."""

    SQUARE = "square"
    LANDSCAPE = "landscape"
    PORTRAIT = "portrait"


@dataclass(frozen=True)
class ImageOptions:
    """A request's options after validation against the model: ready to send upstream."""

    size: str
    quality: str | None
    count: int


@dataclass(frozen=True)
class ModelCapabilities:
    """The options one model accepts. ``qualities`` maps our quality names to the model's own."""

    name: str
    sizes: MappingProxyType[Shape, str]
    qualities: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    max_count: int = 1
    max_prompt_chars: int = 4000
    streams: bool = False  # sends partial previews (GPT image models); proxies and DALL·E do not

    def check_prompt(self, prompt: str) -> None:
        """Refuse an empty prompt, or one longer than this model takes."""
        if not prompt.strip():
            raise UnsupportedOptionError("prompt", "the prompt is empty")
        if len(prompt) > self.max_prompt_chars:
            limit = self.max_prompt_chars
            raise UnsupportedOptionError("prompt", f"{self.name} takes prompts of at most {limit} characters")

    def resolve(self, prompt: str, shape: Shape, quality: str | None, count: int) -> ImageOptions:
        """Map a member's choices to upstream options, or raise :class:`UnsupportedOptionError` saying why."""
        self.check_prompt(prompt)
        size = self.sizes.get(shape)
        if size is None:
            supported = ", ".join(s.value for s in self.sizes)
            raise UnsupportedOptionError("size", f"{self.name} only makes {supported} images")
        if quality is not None and quality not in self.qualities:
            if not self.qualities:
                raise UnsupportedOptionError("quality", f"{self.name} has no quality setting")
            raise UnsupportedOptionError("quality", f"{self.name} supports quality {', '.join(self.qualities)}")
        if not 1 <= count <= self.max_count:
            raise UnsupportedOptionError("count", f"{self.name} makes at most {self.max_count} image(s) at a time")
        return ImageOptions(size=size, quality=self.qualities[quality] if quality else None, count=count)


# Discord shows at most 4 pictures comfortably in one message, so we cap n there even where the API allows 10.
MAX_IMAGES_PER_REQUEST = 4

_GPT_IMAGE_SIZES = MappingProxyType(
    {Shape.SQUARE: "1024x1024", Shape.LANDSCAPE: "1536x1024", Shape.PORTRAIT: "1024x1536"}
)
_GPT_IMAGE_QUALITIES = MappingProxyType({"low": "low", "medium": "medium", "high": "high"})


def _gpt_image(name: str) -> ModelCapabilities:
    return ModelCapabilities(
        name=name,
        sizes=_GPT_IMAGE_SIZES,
        qualities=_GPT_IMAGE_QUALITIES,
        max_count=MAX_IMAGES_PER_REQUEST,
        max_prompt_chars=32000,
        streams=True,
    )


_GPT_IMAGE_MODELS = (
    "gpt-image-1-mini",
    "gpt-image-1.5",
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
    "chatgpt-image-latest",
)

# Retired by OpenAI in May 2026 but still served by some OpenAI-compatible proxies, which answer with URLs.
_LEGACY_MODELS = (
    ModelCapabilities(
        name="dall-e-3",
        sizes=MappingProxyType({Shape.SQUARE: "1024x1024", Shape.LANDSCAPE: "1792x1024", Shape.PORTRAIT: "1024x1792"}),
        qualities=MappingProxyType({"medium": "standard", "high": "hd"}),
        max_count=1,
        max_prompt_chars=4000,
    ),
    ModelCapabilities(
        name="dall-e-2",
        sizes=MappingProxyType({Shape.SQUARE: "1024x1024"}),
        max_count=MAX_IMAGES_PER_REQUEST,
        max_prompt_chars=1000,
    ),
)

KNOWN_MODELS: MappingProxyType[str, ModelCapabilities] = MappingProxyType(
    {name: _gpt_image(name) for name in _GPT_IMAGE_MODELS} | {m.name: m for m in _LEGACY_MODELS}
)


def capabilities_for(model: str) -> ModelCapabilities:
    """The capabilities of ``model``; a model we do not know (served by a proxy) gets the safest subset."""
    known = KNOWN_MODELS.get(model)
    if known is not None:
        return known
    log.warning("Unknown image model %r: offering square images, one at a time, with no quality option", model)
    return ModelCapabilities(name=model, sizes=MappingProxyType({Shape.SQUARE: "1024x1024"}))
