"""The public result message: embeds whose images point at the uploaded files."""

import io
import re
from collections.abc import Sequence

import discord

from bot.core.images.encoding import PreparedImage
from bot.discord_ui.texts import text
from bot.providers.generator import GenerationResult

PROMPT_EXCERPT = 1000
FIELD_VALUE_LIMIT = 1024
RESULT_COLOUR = discord.Colour.blurple()
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe_excerpt(value: str, limit: int) -> str:
    """User text made inert for display: control and direction marks dropped, markdown and mentions escaped, cut to
    ``limit`` characters without splitting an escape."""
    cleaned = _CONTROL.sub("", value)
    keep = len(cleaned)
    while True:
        excerpt = discord.utils.escape_mentions(discord.utils.escape_markdown(cleaned[:keep]))
        if keep < len(cleaned):
            excerpt += "…"
        if len(excerpt) <= limit:
            return excerpt
        keep -= len(excerpt) - limit


def result_files(images: Sequence[PreparedImage], job_id: int) -> list[discord.File]:
    """The images as uploads, named so embeds can reference them."""
    return [
        discord.File(io.BytesIO(image.data), filename=f"imagine-{job_id}-{index}.{image.extension}")
        for index, image in enumerate(images, start=1)
    ]


def result_embeds(
    result: GenerationResult,
    files: Sequence[discord.File],
    *,
    prompt: str,
    requester: str,
    link: str | None = None,
    remix_of: str | None = None,
) -> list[discord.Embed]:
    """One embed per image; the first carries the prompt and the details. ``requester`` is a mention; ``remix_of``
    says what a remix was made from (a message link, or how many pictures were given).

    With ``link`` (the message's own address), every embed shares it as its URL, which Discord shows as one
    gallery of up to four pictures.
    """
    description = safe_excerpt(prompt, PROMPT_EXCERPT)
    title = text("result.title" if remix_of is None else "result.remix_title")
    main = discord.Embed(title=title, description=description, colour=RESULT_COLOUR)
    main.add_field(name=text("result.requested_by"), value=requester)
    if remix_of is not None:
        main.add_field(name=text("result.remix_of"), value=remix_of)
    main.add_field(name=text("result.model"), value=safe_excerpt(result.model, FIELD_VALUE_LIMIT))
    main.add_field(name=text("result.size"), value=result.size)
    if result.quality:
        main.add_field(name=text("result.quality"), value=result.quality)
    main.add_field(name=text("result.took"), value=text("result.seconds", seconds=result.seconds))
    if result.revised_prompt:
        main.add_field(
            name=text("result.revised_prompt"),
            value=safe_excerpt(result.revised_prompt, FIELD_VALUE_LIMIT),
            inline=False,
        )
    embeds = [main] + [discord.Embed(colour=RESULT_COLOUR, url=link) for _ in files[1:]]
    if link is not None and len(files) > 1:
        main.url = link
    for embed, file in zip(embeds, files, strict=True):
        embed.set_image(url=f"attachment://{file.filename}")
    return embeds
