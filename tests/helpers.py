"""Helpers shared by the end-to-end tests."""

import asyncio
import io
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from aiohttp import web
from PIL import Image

from tests.fakes.discord_server import CHANNEL_ID, FakeDiscord, FakeMessage, FakeUser, InteractionRecord

EPHEMERAL = 64
DEFERRED_CHANNEL_MESSAGE = 5
CHANNEL_MESSAGE = 4
ACK_DEADLINE_SECONDS = 3.0
MEMBER = FakeUser(id=345678901234567890, name="fox_fan")


async def first_steps() -> None:
    """Return once every task made before this call has run up to its first wait: tasks start in the order they were
    made, so a task made now runs after all of them."""

    async def after_them() -> None:
        pass

    await asyncio.create_task(after_them())


async def imagine(fake: FakeDiscord, prompt: str, *, user: FakeUser = MEMBER, **options: object) -> InteractionRecord:
    """Invoke ``/imagine`` as ``user`` through the fake gateway."""
    return await fake.invoke_slash("imagine", {"prompt": prompt, **options}, user=user)


async def wait_for_result(fake: FakeDiscord, record: InteractionRecord) -> None:
    """Wait until the interaction's public response is the finished result (not a progress preview)."""
    await fake.wait_for(lambda: is_result(record.original))


def is_result(message: FakeMessage | None) -> bool:
    """Whether ``message`` is a posted result: pictures under the "Imagined" (or, for a remix, "Remixed") embed."""
    return (
        message is not None
        and bool(message.attachments)
        and bool(message.embeds)
        and message.embeds[0].get("title") in ("Imagined", "Remixed")
    )


def decoded(data: bytes) -> Image.Image:
    """``data`` fully decoded by Pillow (raises if it is not an image)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def fields_of(embed: dict) -> dict[str, str]:
    """An embed's fields as name -> value."""
    return {field["name"]: field["value"] for field in embed.get("fields", [])}


@cache
def noisy_png(width: int, height: int) -> bytes:
    """A PNG of random pixels: incompressible, so its size is about width * height * 3 bytes."""
    image = Image.frombytes("RGB", (width, height), random.Random(1).randbytes(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def wait_for_private_answer(fake: FakeDiscord, record: InteractionRecord) -> str:
    """The one ephemeral followup a failed job ends with (its public placeholder having been removed)."""
    await fake.wait_for(lambda: bool(record.followups))
    (answer,) = record.followups
    assert answer.ephemeral
    assert answer.content is not None
    assert len(answer.content) <= 2000
    return answer.content


async def wait_for_ephemeral_reply(fake: FakeDiscord, record: InteractionRecord) -> FakeMessage:
    """The private reply to a command that answers only the member (an ephemeral defer filled in, or a direct
    ephemeral message)."""

    def answered() -> bool:
        message = record.original
        return message is not None and not message.loading

    await fake.wait_for(answered)
    assert record.original is not None
    assert record.original.ephemeral
    return record.original


MODERATOR = FakeUser(id=678901234567890123, name="moderator")
MANAGE_GUILD = 1 << 5
PLAIN = 0x400 | 0x800
AGE_RESTRICTED_GUILD = 1146109873520792555


async def moderation(fake: FakeDiscord, subcommand: str, options: dict[str, object] | None = None) -> FakeMessage:
    """A /moderation subcommand as a moderator; returns the private reply."""
    record = await fake.invoke_slash(
        "moderation", options or {}, subcommand=subcommand, user=MODERATOR, permissions=PLAIN | MANAGE_GUILD
    )
    return await wait_for_ephemeral_reply(fake, record)


def modlog_posts(fake: FakeDiscord) -> list[FakeMessage]:
    """What the bot posted in the mod-log channel about refusals and appeals (not interaction responses, nor the
    set-up test message)."""
    return [
        m
        for m in fake.channel_messages.get(CHANNEL_ID, [])
        if m.interaction_id is None and m.embeds and m.embeds[0].get("title")
    ]


def buttons(message: FakeMessage) -> dict[str, str]:
    """A message's buttons: label to custom id."""
    return {b["label"]: b["custom_id"] for row in message.components for b in row["components"]}


def appeal_button(message: FakeMessage) -> str:
    (row,) = message.components
    (button,) = row["components"]
    return button["custom_id"]


async def quota_used(fake: FakeDiscord, user: FakeUser = MEMBER) -> str:
    record = await fake.invoke_slash("quota", {}, user=user)
    return fields_of((await wait_for_ephemeral_reply(fake, record)).embeds[0])["You, today"]


@dataclass
class Clock:
    """A settable clock for services that take one: day boundaries, expiries, strike windows."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def quota_card(fake: FakeDiscord, user: FakeUser = MEMBER, roles: list[int] | None = None) -> dict[str, str]:
    """The fields of ``user``'s private /quota card."""
    record = await fake.invoke_slash("quota", {}, user=user, roles=roles or [])
    reply = await wait_for_ephemeral_reply(fake, record)
    return fields_of(reply.embeds[0])


@asynccontextmanager
async def server_answering(
    path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]], *, method: str = "POST"
) -> AsyncIterator[str]:
    """A server of the test's own on a free local port, answering ``method`` (``*`` for any) to ``/v1/<path>``;
    yields its base URL, for a failure or an answer the fakes do not stage."""
    app = web.Application()
    app.router.add_route(method, f"/v1/{path}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()
