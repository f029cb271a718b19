"""Small pure pieces: safe excerpts, identifiers, health checks, log redaction, image fitting."""

import asyncio
import io
import logging
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.app.health import is_healthy, write_heartbeat
from bot.app.logs import RedactingFormatter
from bot.core.errors import ImageRetrievalError, ImageTooLargeError
from bot.core.images.encoding import decode_base64, prepare_for_upload
from bot.core.images.identity import safety_identifier
from bot.discord_ui.embeds import safe_excerpt


def test_excerpts_escape_mentions_and_markdown() -> None:
    excerpt = safe_excerpt("@everyone look **here** <@&123456789012345678> <@123456789012345678>", 200)
    assert "@everyone" not in excerpt
    assert "@\u200beveryone" in excerpt
    assert "\\*\\*here\\*\\*" in excerpt
    assert "<@&123456789012345678>" not in excerpt
    assert "<@123456789012345678>" not in excerpt


def test_excerpts_drop_control_and_direction_characters() -> None:
    assert safe_excerpt("a\x00b\u202ec\nd", 50) == "abc\nd"


@pytest.mark.parametrize("limit", [1, 2, 10, 999, 1000])
def test_excerpts_never_exceed_the_limit_even_when_escaping_expands(limit: int) -> None:
    excerpt = safe_excerpt("*_" * 3000, limit)
    assert len(excerpt) <= limit
    assert excerpt.endswith("…")
    body = excerpt.removesuffix("…")
    trailing_backslashes = len(body) - len(body.rstrip("\\"))
    assert trailing_backslashes % 2 == 0  # an escape is never cut in half


def test_short_text_is_kept_whole() -> None:
    assert safe_excerpt("一只在夕阳下奔跑的狗", 1000) == "一只在夕阳下奔跑的狗"


def test_safety_identifiers_are_stable_salted_and_hide_the_id() -> None:
    first = safety_identifier(b"salt-one", 123456789012345678)
    assert first == safety_identifier(b"salt-one", 123456789012345678)
    assert first != safety_identifier(b"salt-two", 123456789012345678)
    assert first != safety_identifier(b"salt-one", 123456789012345679)
    assert "123456789012345678" not in first
    assert len(first) == 64


def test_health_needs_a_recent_heartbeat(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    assert not is_healthy(path, now=1000.0)
    write_heartbeat(path, 1000.0)
    assert is_healthy(path, now=1050.0)
    assert not is_healthy(path, now=1000.0 + 91)
    path.write_text("garbage")
    assert not is_healthy(path, now=1000.0)


def test_log_lines_never_contain_secrets() -> None:
    formatter = RedactingFormatter("%(message)s", ["sk-live-secret", "bot.token.value"])
    try:
        raise ValueError("failed with sk-live-secret")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token=%s", ("bot.token.value",), sys.exc_info())
    line = formatter.format(record)
    assert "sk-live-secret" not in line
    assert "bot.token.value" not in line
    assert line.count("[redacted]") >= 2


def test_log_lines_never_contain_interaction_tokens() -> None:
    formatter = RedactingFormatter("%(message)s", [])
    record = logging.LogRecord(
        "discord.webhook.async_",
        logging.DEBUG,
        __file__,
        1,
        "Webhook ID %s with %s %s has returned status code %s",
        ("1", "PATCH", "http://x/api/v10/webhooks/123/aW50ZXJhY3Rpb246MTIz.abc-_/messages/@original", 200),
        None,
    )
    line = formatter.format(record)
    assert "aW50ZXJhY3Rpb246MTIz" not in line
    assert "/webhooks/123/[redacted]/messages/@original" in line
    frame = logging.LogRecord(
        "discord.gateway", logging.DEBUG, __file__, 1, "%s", ({"token": "aW50ZXJhY3Rpb24"},), None
    )
    assert "aW50ZXJhY3Rpb24" not in formatter.format(frame)


def png_bytes(width: int, height: int, *, noisy: bool = False) -> bytes:
    if noisy:
        image = Image.frombytes("RGB", (width, height), random.Random(7).randbytes(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (30, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("limit", [None, 8 * 1024 * 1024], ids=["exactly its size", "a guild's 8 MiB"])
async def test_images_under_the_limit_are_uploaded_untouched(limit: int | None) -> None:
    data = png_bytes(64, 32)  # small: with room to spare it is checked on the event loop, not in a thread
    prepared = await prepare_for_upload(data, limit=limit or len(data))
    assert (prepared.data, prepared.extension, prepared.width, prepared.height) == (data, "png", 64, 32)


async def test_only_small_pngs_are_checked_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    hops: list[str] = []
    to_thread = asyncio.to_thread

    async def counted(function: Any, /, *args: Any) -> Any:
        hops.append(args[0][:4].hex())
        return await to_thread(function, *args)

    monkeypatch.setattr("bot.core.images.encoding.asyncio.to_thread", counted)
    roomy = 8 * 1024 * 1024
    png, jpeg = png_bytes(64, 32), io.BytesIO()
    Image.new("RGB", (64, 32)).save(jpeg, format="JPEG")
    await prepare_for_upload(png, limit=roomy)
    assert hops == [], "a small PNG's checksums are checked in place"
    await prepare_for_upload(jpeg.getvalue(), limit=roomy)
    assert len(hops) == 1, "a JPEG needs a full decode, in a worker thread"


async def test_images_over_the_limit_are_reencoded_to_fit() -> None:
    data = png_bytes(1024, 1024, noisy=True)
    limit = len(data) // 10
    prepared = await prepare_for_upload(data, limit=limit)
    assert len(prepared.data) <= limit
    assert prepared.extension == "jpg"
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.format == "JPEG"
        assert image.size == (prepared.width, prepared.height)


async def test_an_impossible_limit_is_reported() -> None:
    with pytest.raises(ImageTooLargeError):
        await prepare_for_upload(png_bytes(512, 512, noisy=True), limit=100)


async def test_a_truncated_image_is_not_posted() -> None:
    data = png_bytes(256, 256, noisy=True)
    with pytest.raises(ImageRetrievalError):
        await prepare_for_upload(data[: len(data) // 2], limit=len(data))
    small = png_bytes(64, 32, noisy=True)
    with pytest.raises(ImageRetrievalError):
        await prepare_for_upload(small[: len(small) // 2], limit=8 * 1024 * 1024)


async def test_garbage_is_not_an_image() -> None:
    with pytest.raises(ImageRetrievalError):
        await prepare_for_upload(b"<html>not an image</html>", limit=10_000)
    with pytest.raises(ImageRetrievalError):
        await decode_base64("not base64!!")
