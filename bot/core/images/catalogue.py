"""The model catalogue: what each image model takes, and how a member's choices become one request's options.

The one place that knows models. OpenAI retires models every few months: when it does, the model leaves
``KNOWN_MODELS`` and the README, and the start-up check (``bot/providers/retirement.py``) stops a bot configured
with it.
A model we do not know (one a proxy serves under its own name) gets the safe subset: a square picture, one at a time,
and none of the GPT image options.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from bot.core.errors import CannotEditError, InputImageError, UnsupportedOptionError

log = logging.getLogger(__name__)


class Aspect(StrEnum):
    """The picture shapes members choose from, as width:height."""

    SQUARE = "1:1"
    LANDSCAPE = "3:2"
    PORTRAIT = "2:3"
    WIDE = "16:9"
    TALL = "9:16"

    @property
    def ratio(self) -> float:
        """Width over height."""
        width, height = self.value.split(":")
        return int(width) / int(height)


class Background(StrEnum):
    """``auto`` lets the model decide; the others are asked for explicitly."""

    AUTO = "auto"
    TRANSPARENT = "transparent"
    OPAQUE = "opaque"


OUTPUT_FORMATS = ("png", "webp", "jpeg")
TRANSPARENT_FORMATS = frozenset({"png", "webp"})
# Discord shows at most 4 pictures comfortably in one message, so we cap n there even where the API allows 10.
MAX_IMAGES_PER_REQUEST = 4
# Pictures one edit takes: the API takes 16, and a member gives at most three (or one message's).
MAX_EDIT_INPUTS = 16
QUALITIES = ("low", "medium", "high")
QUALITIES_EXTENDED = (*QUALITIES, "xhigh", "max")
# The sizes every GPT image model takes.
STANDARD_SIZES = MappingProxyType(
    {Aspect.SQUARE: "1024x1024", Aspect.LANDSCAPE: "1536x1024", Aspect.PORTRAIT: "1024x1536"}
)


@dataclass(frozen=True)
class SizeLimits:
    """Free sizes: any width x height in steps of ``step`` within these limits."""

    step: int = 16
    max_edge: int = 3840
    max_ratio: float = 3.0
    min_pixels: int = 655_360
    max_pixels: int = 8_294_400

    def size_for(self, aspect: Aspect) -> str | None:
        """The standard size where there is one, else 1536 pixels on the long edge; ``None`` if out of limits."""
        if aspect in STANDARD_SIZES:
            return STANDARD_SIZES[aspect]
        long_edge = 1536
        short_edge = round(long_edge / max(aspect.ratio, 1 / aspect.ratio) / self.step) * self.step
        width, height = (long_edge, short_edge) if aspect.ratio >= 1 else (short_edge, long_edge)
        pixels = width * height
        too_long = max(width, height) > self.max_edge or max(width, height) / min(width, height) > self.max_ratio
        if too_long or not self.min_pixels <= pixels <= self.max_pixels:
            return None
        return f"{width}x{height}"


@dataclass(frozen=True)
class ImageRequest:
    """What a member asked for, in the bot's own terms; kept with results and refusals, so Reroll and approved
    appeals ask again (against the models configured then)."""

    aspect: Aspect = Aspect.SQUARE
    quality: str | None = None
    count: int = 1
    background: Background = Background.AUTO
    model: str | None = None  # None: the default model
    inputs_id: int | None = None  # the stored pictures a remix starts from
    source_url: str | None = None  # the message a remix's picture came from, if it came from one

    @property
    def remix(self) -> bool:
        """Whether the pictures are made from pictures."""
        return self.inputs_id is not None

    def record(self) -> dict[str, Any]:
        """A JSON-ready form for the database."""
        return asdict(self) | {"aspect": self.aspect.value, "background": self.background.value}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "ImageRequest":
        """Read :meth:`record`'s form back; records from before the catalogue (resolved ``size``, ``quality`` and
        ``count``) become the nearest aspect on the default model."""
        if "aspect" in record:
            aspect = Aspect(record["aspect"])
        else:
            width, height = (int(edge) for edge in str(record.get("size", "1024x1024")).split("x"))
            aspect = min(Aspect, key=lambda candidate: abs(candidate.ratio - width / height))
        quality = record.get("quality")
        return cls(
            aspect=aspect,
            quality=quality if quality in QUALITIES_EXTENDED else None,
            count=int(record.get("count", 1)),
            background=Background(record.get("background", Background.AUTO.value)),
            model=record.get("model"),
            inputs_id=record.get("inputs_id"),
            source_url=record.get("source_url"),
        )


@dataclass(frozen=True)
class ImageOptions:
    """One request's options after validation against its model: ready to send upstream. ``None`` fields are not
    sent (the model's own default applies)."""

    model: str
    size: str
    quality: str | None
    count: int
    background: str | None = None
    output_format: str | None = None
    output_compression: int | None = None


@dataclass(frozen=True)
class OutputSettings:
    """A server's choice of file format for its pictures; ``compression`` (0-100) applies to webp and jpeg."""

    format: str = "png"
    compression: int | None = None


@dataclass(frozen=True)
class ModelCapabilities:
    """The options one model accepts."""

    name: str
    sizes: Mapping[Aspect, str]
    qualities: tuple[str, ...] = ()
    max_count: int = 1
    max_prompt_chars: int = 4000
    streams: bool = False  # sends partial previews while it works
    backgrounds: tuple[Background, ...] = ()  # explicit backgrounds it takes besides auto
    output_formats: tuple[str, ...] = ()  # () : the model takes no output_format (nor output_compression)
    moderation_levels: bool = False  # takes the provider's own moderation level (auto/low)
    max_inputs: int = 0  # pictures one edit takes (0: it cannot edit)

    def check_prompt(self, prompt: str) -> None:
        """Refuse an empty prompt, or one longer than this model takes."""
        if not prompt.strip():
            raise UnsupportedOptionError("prompt", "the prompt is empty")
        if len(prompt) > self.max_prompt_chars:
            limit = self.max_prompt_chars
            raise UnsupportedOptionError("prompt", f"{self.name} takes prompts of at most {limit} characters")

    def check_inputs(self, pictures: int) -> None:
        """Refuse pictures to remix on a model that cannot edit, or more than it takes."""
        if pictures and not self.max_inputs:
            raise CannotEditError(self.name)
        if pictures > self.max_inputs:
            raise InputImageError("too_many", limit=self.max_inputs)

    def resolve(
        self, prompt: str, request: ImageRequest, output: OutputSettings | None = None, *, inputs: int = 0
    ) -> ImageOptions:
        """Map a member's choices (and ``inputs`` pictures to remix) to upstream options, or raise
        :class:`UnsupportedOptionError` (or :class:`CannotEditError`) saying why.

        ``output`` (the server's format) is left out until known: the checks that need it pass without it.
        """
        self.check_prompt(prompt)
        self.check_inputs(inputs)
        size = self.sizes.get(request.aspect)
        if size is None:
            supported = ", ".join(aspect.value for aspect in self.sizes)
            raise UnsupportedOptionError("aspect", f"{self.name} only makes {supported} pictures")
        if request.quality is not None and request.quality not in self.qualities:
            if not self.qualities:
                raise UnsupportedOptionError("quality", f"{self.name} has no quality setting")
            raise UnsupportedOptionError("quality", f"{self.name} supports quality {', '.join(self.qualities)}")
        if not 1 <= request.count <= self.max_count:
            raise UnsupportedOptionError("count", f"{self.name} makes at most {self.max_count} image(s) at a time")
        background = None
        if request.background is not Background.AUTO:
            if request.background not in self.backgrounds:
                raise UnsupportedOptionError(
                    "background", f"{self.name} cannot make {request.background.value} backgrounds"
                )
            background = request.background.value
        options = ImageOptions(self.name, size, request.quality, request.count, background)
        if output is None or not self.output_formats:
            return options
        file_format = output.format
        if background == Background.TRANSPARENT and file_format not in TRANSPARENT_FORMATS:
            file_format = "webp"  # JPEG cannot be transparent; WebP keeps the server's small files
        compression = output.compression if file_format != "png" else None
        return replace(options, output_format=file_format, output_compression=compression)


_GPT_IMAGE_2_FAMILY_SIZES = MappingProxyType(
    {aspect: size for aspect in Aspect if (size := SizeLimits().size_for(aspect)) is not None}
)


def _family(
    names: Iterable[str],
    *,
    sizes: Mapping[Aspect, str],
    qualities: tuple[str, ...],
    streams: bool,
    transparent: bool,
    edits: bool,
) -> dict[str, ModelCapabilities]:
    """GPT image models that take the same options."""
    backgrounds = (Background.TRANSPARENT, Background.OPAQUE) if transparent else (Background.OPAQUE,)
    return {
        name: ModelCapabilities(
            name=name,
            sizes=sizes,
            qualities=qualities,
            max_count=MAX_IMAGES_PER_REQUEST,
            max_prompt_chars=32000,
            streams=streams,
            backgrounds=backgrounds,
            output_formats=OUTPUT_FORMATS,
            moderation_levels=True,
            max_inputs=MAX_EDIT_INPUTS if edits else 0,
        )
        for name in names
    }


# Sources and dates are in README's model section; keep the two together.
KNOWN_MODELS: MappingProxyType[str, ModelCapabilities] = MappingProxyType(
    # Free sizes; transparent backgrounds were a preview, ended on 2026-09-30.
    _family(
        ("gpt-image-2", "gpt-image-2-2026-04-21"),
        sizes=_GPT_IMAGE_2_FAMILY_SIZES,
        qualities=QUALITIES,
        streams=True,
        transparent=False,
        edits=True,
    )
    | _family(
        (
            "gpt-image-2.5-flare",
            "gpt-image-2.5-flare-2026-09-08",
            "gpt-image-2.5-sunburst",
            "gpt-image-2.5-sunburst-2026-09-08",
        ),
        sizes=_GPT_IMAGE_2_FAMILY_SIZES,
        qualities=QUALITIES_EXTENDED,
        streams=True,
        transparent=True,
        edits=True,
    )
    # OpenAI documents free sizes, streaming and edits for the 2 and 2.5 families only: 2.6 gets the standard sizes
    # and plain generations until it does.
    | _family(
        ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst"),
        sizes=STANDARD_SIZES,
        qualities=QUALITIES_EXTENDED,
        streams=False,
        transparent=True,
        edits=False,
    )
)
# The cheapest active model that makes good pictures at 1024x1024 (README's model section says why).
DEFAULT_MODEL = "gpt-image-2.5-flare"
IMAGE_MODEL_PREFIXES = ("gpt-image-", "chatgpt-image-", "dall-e-")


def is_image_model(name: str) -> bool:
    """Whether a model id an endpoint lists is an image model (to suggest in place of a retired one)."""
    return name in KNOWN_MODELS or name.startswith(IMAGE_MODEL_PREFIXES)


def capabilities_for(model: str) -> ModelCapabilities:
    """The capabilities of ``model``; a model we do not know (served by a proxy) gets the safe subset."""
    known = KNOWN_MODELS.get(model)
    if known is not None:
        return known
    return ModelCapabilities(name=model, sizes=MappingProxyType({Aspect.SQUARE: "1024x1024"}))


class ModelCatalogue:
    """The models this bot offers (the operator's ``IMAGE_MODELS``, the first being the default)."""

    def __init__(self, models: Iterable[str]) -> None:
        self.models = {name: capabilities_for(name) for name in models}
        if not self.models:
            raise ValueError("at least one model")
        self.default = next(iter(self.models.values()))
        for name in self.models:
            if name not in KNOWN_MODELS:
                log.warning("Unknown image model %r: offering square images, one at a time, and no options", name)

    @property
    def names(self) -> tuple[str, ...]:
        """The offered models, default first."""
        return tuple(self.models)

    def capabilities(self, model: str | None) -> ModelCapabilities:
        """The model a request names, or the default where it names none or one no longer offered (an old result's
        Reroll after the operator changed models)."""
        return self.models.get(model or "", self.default)

    def resolve(
        self, prompt: str, request: ImageRequest, output: OutputSettings | None = None, *, inputs: int = 0
    ) -> ImageOptions:
        """``request`` resolved on its model (see :meth:`ModelCapabilities.resolve`)."""
        return self.capabilities(request.model).resolve(prompt, request, output, inputs=inputs)

    def aspects(self) -> list[Aspect]:
        """The aspects at least one offered model makes, in the enum's order."""
        return [aspect for aspect in Aspect if any(aspect in m.sizes for m in self.models.values())]

    def qualities(self) -> list[str]:
        """The qualities at least one offered model takes, cheapest first."""
        return [q for q in QUALITIES_EXTENDED if any(q in m.qualities for m in self.models.values())]

    def max_count(self) -> int:
        """The most pictures one request may ask for, on the most generous offered model."""
        return max(m.max_count for m in self.models.values())

    def max_inputs(self) -> int:
        """The most pictures one edit takes, on the most generous offered model (0: none of them edits)."""
        return max(m.max_inputs for m in self.models.values())

    def backgrounds(self) -> list[Background]:
        """The explicit backgrounds at least one offered model takes."""
        return [b for b in Background if any(b in m.backgrounds for m in self.models.values())]
