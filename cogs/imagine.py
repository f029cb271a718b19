"""``/imagine``: built from the catalogue at start-up, so it offers what the configured models take; validates the
options, then hands over to the public job path (moderation, quota, queue, result)."""

import inspect
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.core.errors import InputImageError
from bot.core.images.catalogue import Aspect, Background, ImageRequest, ModelCatalogue
from bot.core.moderation.normalize import clean_prompt
from bot.discord_ui.public_job import run_public_job
from bot.discord_ui.sources import attachment_source, is_picture
from bot.discord_ui.translator import verbatim

if TYPE_CHECKING:
    from bot.app.client import ImagineBot

ASPECT_NAMES = {
    Aspect.SQUARE: "Square (1:1)",
    Aspect.LANDSCAPE: "Landscape (3:2)",
    Aspect.PORTRAIT: "Portrait (2:3)",
    Aspect.WIDE: "Wide (16:9)",
    Aspect.TALL: "Tall (9:16)",
}
QUALITY_NAMES = {
    "low": "Low (fastest)",
    "medium": "Medium",
    "high": "High",
    "xhigh": "Extra high",
    "max": "Maximum (slowest)",
}
BACKGROUND_NAMES = {Background.AUTO: "Auto", Background.TRANSPARENT: "Transparent", Background.OPAQUE: "Opaque"}
DESCRIPTIONS = {
    "prompt": "What should the picture show?",
    "aspect": "The picture's shape",
    "quality": "Higher quality takes longer",
    "count": "How many pictures to make (1-4)",
    "background": "Transparent needs a model that makes it",
    "model": "Which image model makes it",
    "image": "A picture to start from (PNG, JPEG or WebP)",
    "image2": "Another picture to start from",
    "image3": "Another picture to start from",
}
# Pictures a member can give with /imagine, to remix (a message's picture goes through the Remix command).
IMAGE_OPTIONS = ("image", "image2", "image3")
Prompt = app_commands.Range[str, 1, 4000]


def request_from(
    catalogue: ModelCatalogue,
    prompt: str,
    *,
    aspect: str = Aspect.SQUARE.value,
    quality: str | None = None,
    count: int = 1,
    background: str = Background.AUTO.value,
    model: str = "",
    inputs: int = 0,
) -> tuple[str, ImageRequest]:
    """The cleaned prompt and the member's request (with ``inputs`` pictures to remix), checked against its model
    (not yet the server's format)."""
    prompt = clean_prompt(prompt)
    request = ImageRequest(Aspect(aspect), quality, count, Background(background), model or None)
    catalogue.resolve(prompt, request, inputs=inputs)
    return prompt, request


def imagine_command(catalogue: ModelCatalogue) -> app_commands.Command[Any, ..., None]:
    """The ``/imagine`` command for these models: only the options, and the choices, that one of them can honour
    (no ``model`` option for one model; only a prompt for a model the catalogue does not know)."""

    async def imagine(interaction: discord.Interaction, **options: Any) -> None:
        pictures: list[discord.Attachment] = [a for name in IMAGE_OPTIONS if (a := options.pop(name, None))]
        for number, picture in enumerate(pictures, 1):
            if not is_picture(picture):
                raise InputImageError("format", picture=number)
        prompt, request = request_from(catalogue, inputs=len(pictures), **options)
        await run_public_job(interaction, prompt, request, [attachment_source(p) for p in pictures])

    choices: dict[str, list[Choice[str]]] = {}
    parameters = [_option("prompt", Prompt)]
    if len(aspects := catalogue.aspects()) > 1:
        choices["aspect"] = [Choice(name=ASPECT_NAMES[a], value=a.value) for a in aspects]
        parameters.append(_option("aspect", str, Aspect.SQUARE.value))
    if qualities := catalogue.qualities():
        choices["quality"] = [Choice(name=QUALITY_NAMES[q], value=q) for q in qualities]
        parameters.append(_option("quality", str | None, None))
    if (most := catalogue.max_count()) > 1:
        parameters.append(_option("count", app_commands.Range[int, 1, most], 1))
    if backgrounds := catalogue.backgrounds():
        choices["background"] = [
            Choice(name=BACKGROUND_NAMES[b], value=b.value) for b in (Background.AUTO, *backgrounds)
        ]
        parameters.append(_option("background", str, Background.AUTO.value))
    if len(catalogue.names) > 1:
        choices["model"] = [Choice(name=verbatim(name), value=name) for name in catalogue.names]
        parameters.append(_option("model", str, ""))
    if catalogue.max_inputs():
        parameters += [_option(name, discord.Attachment | None, None) for name in IMAGE_OPTIONS]
    # discord.py reads a command's options from its callback's signature (inspect.signature), which honours
    # __signature__: one callback serves every combination of options.
    interaction = inspect.Parameter(
        "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
    )
    imagine.__signature__ = inspect.Signature([interaction, *parameters])  # type: ignore[attr-defined]
    described = app_commands.describe(**{p.name: DESCRIPTIONS[p.name] for p in parameters})
    command: app_commands.Command[Any, ..., None] = app_commands.command(
        name="imagine", description="Turn a text prompt into a picture"
    )(described(app_commands.choices(**choices)(imagine)))
    return app_commands.guild_only()(command)


def _option(name: str, annotation: object, default: object = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point: the command for the configured models."""
    bot.tree.add_command(imagine_command(bot.services.images.catalogue))


async def teardown(bot: "ImagineBot") -> None:
    """Extension exit point."""
    bot.tree.remove_command("imagine")
