"""Shared fixtures: the two fakes, and the real bot started against them in this event loop."""

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket

from bot.app.config import Settings, load_settings
from bot.app.runner import serve
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

SESSION_TIMEOUT = 10.0


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """A fake OpenAI server; the test fails if anything broke OpenAI's published contract."""
    async with FakeOpenAI() as fake:
        yield fake
    assert fake.contract_violations == []


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A fake Discord; the test fails if anything broke Discord's published contract."""
    # The bot points discord.py's REST base at the fake; put it back afterwards.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    async with FakeDiscord() as fake:
        # discord.py falls back to its built-in gateway after a failed reconnect: never let a test reach it.
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        yield fake
    assert fake.contract_violations == []


@pytest.fixture
def bot_env(tmp_path: Path, fake_openai: FakeOpenAI, fake_discord: FakeDiscord) -> dict[str, str]:
    """The environment a bot needs to run against the fakes."""
    return {
        "DISCORD_TOKEN": fake_discord.token,
        "OPENAI_API_KEY": "test-key-for-the-fake",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "DISCORD_API_BASE_URL": fake_discord.api_base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "OPENAI_MAX_RETRIES": "0",
        "LOG_LEVEL": "DEBUG",
    }


@dataclass
class RunningBot:
    """A bot served in this event loop until :meth:`stop`."""

    settings: Settings
    task: asyncio.Task[None]
    shutdown: asyncio.Event

    async def stop(self) -> None:
        """Ask for a clean shutdown, as SIGTERM would, and wait for it."""
        self.shutdown.set()
        await asyncio.wait_for(self.task, SESSION_TIMEOUT)


StartBot = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
async def start_bot(bot_env: dict[str, str], fake_discord: FakeDiscord) -> AsyncIterator[StartBot]:
    """Start the real bot (``bot.app.runner.serve``) with extra environment; returns once its gateway session is up."""
    running: list[RunningBot] = []

    async def start(*, shutdown_grace: float = 5.0, **env: str) -> RunningBot:
        settings = load_settings(bot_env | env)
        sessions_before = fake_discord.session_count
        shutdown = asyncio.Event()
        task = asyncio.create_task(serve(settings, shutdown=shutdown, shutdown_grace=shutdown_grace))
        bot = RunningBot(settings, task, shutdown)
        running.append(bot)
        session = asyncio.create_task(fake_discord.wait_for(lambda: fake_discord.session_count > sessions_before))
        done, _ = await asyncio.wait({task, session}, timeout=SESSION_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            session.cancel()
            task.result()  # raises whatever stopped the bot
            raise AssertionError("the bot stopped before its gateway session started")
        assert session in done, "the bot did not start a gateway session in time"
        return bot

    yield start
    for bot in running:
        if not bot.task.done():
            await bot.stop()
    # serve() freezes the heap it finds (gc.freeze), which here is pytest's: give it back to the collector.
    gc.unfreeze()


@pytest.fixture
async def running_bot(start_bot: StartBot) -> RunningBot:
    """The bot with default settings, connected."""
    return await start_bot()
