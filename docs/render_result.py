"""Render the README's pictures from what the test bed's Discord actually receives for one ``/imagine``, or for one
remix (``/imagine`` with a picture).

    PYTHONPATH=. .venv/bin/python docs/render_result.py docs/result.png
    PYTHONPATH=. .venv/bin/python docs/render_result.py docs/remix.png --remix

The bot runs for real against the fake Discord and fake OpenAI; the message the fake Discord stores (embed and
uploaded file) is drawn the way a Discord client lays it out. The picture inside is the fake provider's
placeholder art, since no real provider is reachable from the test bed.
"""

import asyncio
import io
import sys
import tempfile
from pathlib import Path

import discord
from PIL import Image, ImageDraw, ImageFont

from bot.app.config import load_settings
from bot.app.runner import serve
from tests.fakes.discord_server import FakeDiscord, FakeMessage, FakeUser
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import is_result

PROMPT = "a red fox curled up asleep in fresh snow, soft morning light, watercolour"
REMIX_PROMPT = "the same fox under a starry night sky"
MEMBER = FakeUser(id=345678901234567890, name="fox_fan")
BACKGROUND, EMBED, BAR, TEXT, MUTED = "#313338", "#2b2d31", "#5865f2", "#dbdee1", "#949ba4"


def placeholder_art(size: str, *, night: bool = False) -> bytes:
    """A simple scene standing in for the provider's picture: sky, sun (or moon) and snowy hills."""
    width, height = (int(v) for v in size.split("x"))
    image = Image.new("RGB", (width, height), "#1d2b4f" if night else "#9cc3e6")
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.68, height * 0.12, width * 0.82, height * 0.33), fill="#f4f1de" if night else "#ffd27f")
    draw.polygon(
        [(0, height * 0.7), (width * 0.35, height * 0.45), (width * 0.7, height * 0.72), (0, height)], "#eef3f8"
    )
    draw.polygon(
        [(width * 0.3, height), (width * 0.75, height * 0.55), (width, height * 0.68), (width, height)], "#dfe8f1"
    )
    draw.ellipse((width * 0.42, height * 0.72, width * 0.58, height * 0.84), fill="#c8552b")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def night_art(size: str) -> bytes:
    """The placeholder scene by night, as the fake provider's remix of the day scene."""
    return placeholder_art(size, night=True)


async def capture(*, remix: bool) -> FakeMessage:
    """Run the real bot once against the fakes and return the public result message."""
    original_base = discord.http.Route.BASE
    async with FakeOpenAI() as openai_fake, FakeDiscord() as discord_fake:
        openai_fake.image_factory = night_art if remix else placeholder_art
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(
                {
                    "DISCORD_TOKEN": discord_fake.token,
                    "OPENAI_API_KEY": "sk-docs",
                    "OPENAI_BASE_URL": openai_fake.base_url,
                    "DISCORD_API_BASE_URL": discord_fake.api_base_url,
                    "DATABASE_URL": f"sqlite:///{Path(folder) / 'docs.db'}",
                }
            )
            shutdown = asyncio.Event()
            bot = asyncio.create_task(serve(settings, shutdown=shutdown))
            try:
                await discord_fake.wait_for(lambda: discord_fake.session_count >= 1)
                options: dict[str, object] = {"prompt": PROMPT, "aspect": "3:2", "quality": "high"}
                if remix:
                    day = discord_fake.upload("fox.png", placeholder_art("1536x1024"))
                    options |= {"prompt": REMIX_PROMPT, "image": day}
                record = await discord_fake.invoke_slash("imagine", options, user=MEMBER)
                await discord_fake.wait_for(lambda: is_result(record.original))
            finally:
                shutdown.set()
                await bot
                discord.http.Route.BASE = original_base
    if record.original is None:
        raise RuntimeError("the bot posted no result")
    return record.original


def wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    return [*lines, line]


def render(message: FakeMessage, out: Path) -> None:
    """Draw ``message`` roughly as a Discord client shows it."""
    regular, bold, small = (ImageFont.load_default(size=s) for s in (17, 18, 14))
    embed = message.embeds[0]
    picture = Image.open(io.BytesIO(message.attachments[0].data)).convert("RGB")
    picture.thumbnail((520, 520))
    fields = {f["name"]: f["value"] for f in embed["fields"]} | {"Requested by": f"@{MEMBER.name}"}
    remix_of = fields.pop("Remix of", None)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    description = wrap(measure, embed["description"], regular, 520)
    left, top = 76, 74
    fields_top = top + 44 + 24 * len(description) + 8
    remix_top = fields_top + 48 * ((len(fields) + 2) // 3)
    picture_top = remix_top + (48 if remix_of else 0) + 6
    bottom = picture_top + picture.height + 14

    canvas = Image.new("RGB", (700, bottom + 20), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((20, 20, 60, 60), fill=BAR)
    draw.text((76, 20), "Imagine", font=bold, fill="#ffffff")
    draw.rounded_rectangle((150, 22, 190, 40), 4, fill=BAR)
    draw.text((156, 23), "APP", font=small, fill="#ffffff")
    draw.text((76, 44), f"@{MEMBER.name} used /imagine", font=small, fill=MUTED)
    draw.rounded_rectangle((left, top, left + 560, bottom), 6, fill=EMBED)
    draw.rectangle((left, top, left + 4, bottom), fill=BAR)
    draw.text((left + 18, top + 14), embed["title"], font=bold, fill="#ffffff")
    for index, line in enumerate(description):
        draw.text((left + 18, top + 44 + 24 * index), line, font=regular, fill=TEXT)
    for column, (name, value) in enumerate(fields.items()):
        x, y = left + 18 + (column % 3) * 180, fields_top + (column // 3) * 48
        draw.text((x, y), name, font=small, fill=MUTED)
        draw.text((x, y + 18), value, font=regular, fill=TEXT)
    if remix_of:
        draw.text((left + 18, remix_top), "Remix of", font=small, fill=MUTED)
        draw.text((left + 18, remix_top + 18), remix_of, font=regular, fill=TEXT)
    canvas.paste(picture, (left + 18, picture_top))
    canvas.save(out, format="PNG", optimize=True)


def main() -> None:
    """Command-line entry point: the output path, and ``--remix`` for a remix."""
    arguments = [a for a in sys.argv[1:] if a != "--remix"]
    out = Path(arguments[0] if arguments else "docs/result.png")
    render(asyncio.run(capture(remix="--remix" in sys.argv)), out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
