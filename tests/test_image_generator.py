"""ImageGenerator's streamed generations against the fake OpenAI over real sockets, through the SDK as in the bot."""

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx2
import openai
import pytest

from bot.services import images
from bot.services.capabilities import ImageOptions, capabilities_for
from bot.services.downloads import ImageDownloader
from bot.services.images import ImageGenerator, RetryPolicy
from tests.fakes.openai_server import FakeOpenAI, gradient_png

OPTIONS = ImageOptions(size="1024x1024", quality="low", count=1)
WAIT = 5.0


@pytest.fixture
async def generator(fake_openai: FakeOpenAI) -> AsyncIterator[ImageGenerator]:
    async with (
        openai.AsyncOpenAI(
            base_url=fake_openai.base_url, api_key="sk-test", max_retries=0, http_client=openai.DefaultAioHttpClient()
        ) as client,
        httpx2.AsyncClient() as http,
    ):
        yield ImageGenerator(
            client, capabilities_for("gpt-image-1-mini"), ImageDownloader(http), retry=RetryPolicy(max_retries=0)
        )


@contextmanager
def finalised_async_generators() -> Iterator[list[object]]:
    """Async generators first iterated inside the block that asyncio had to finalise (they were dropped unfinished)."""
    hooks = sys.get_asyncgen_hooks()
    finalised: list[object] = []

    def noting(agen: object) -> None:
        finalised.append(agen)
        hooks.finalizer(agen)  # type: ignore[misc]

    sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=noting)
    try:
        yield finalised
    finally:
        sys.set_asyncgen_hooks(*hooks)


async def test_a_stream_is_read_to_its_end_so_nothing_is_left_to_finalise(generator: ImageGenerator) -> None:
    previews: list[bytes] = []

    async def on_partial(preview: bytes) -> None:
        previews.append(preview)

    with finalised_async_generators() as finalised:
        result = await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=on_partial)
        gc.collect()
    assert result.images == (gradient_png("1024x1024"),)
    assert len(previews) == images.PARTIAL_IMAGES
    assert finalised == [], "each one dropped unfinished costs the event loop a wake-up of its own"


async def test_a_stream_held_open_after_its_image_is_dropped_after_a_grace(
    generator: ImageGenerator, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "STREAM_END_GRACE_SECONDS", 0.05)
    fake_openai.streams_linger = True

    async def on_partial(preview: bytes) -> None:
        pass

    async with asyncio.timeout(WAIT):  # a bound for a generator that waits for the end, never a synchronisation
        result = await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=on_partial)
    assert result.images == (gradient_png("1024x1024"),)
