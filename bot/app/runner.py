"""Opening every resource, running the bot, and closing everything again, in one place."""

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from urllib.parse import urlsplit

import aiohttp
import discord
import httpx2
import openai

from bot.app.client import ImagineBot, Services
from bot.app.command_sync import sync_commands_if_changed
from bot.app.config import Settings
from bot.app.health import heartbeat_path
from bot.core.errors import ServiceUnreachableError, without_credentials
from bot.core.images.catalogue import ModelCatalogue
from bot.core.images.inputs import DISCORD_MEDIA_HOSTS, MAX_INPUT_BYTES, InputImages
from bot.core.images.settings import ImageSettingsService
from bot.core.moderation.policy import ModerationService
from bot.core.pipeline.queue import FairQueue
from bot.core.pipeline.runner import ImageJobRunner
from bot.core.pipeline.tracker import JobTracker
from bot.core.quota import QuotaDefaults, QuotaService
from bot.discord_ui.modlog import ModLog
from bot.providers.downloads import ImageDownloader
from bot.providers.generator import ImageGenerator, RetryPolicy
from bot.providers.moderator import ContentModerator
from bot.providers.retirement import RetirementWatch, reason
from storage.database import open_database
from storage.image_inputs import ImageInputsRepository
from storage.image_settings import ImageSettingsRepository
from storage.model_notices import ModelNoticesRepository
from storage.moderation import ModerationRepository
from storage.quota_limits import QuotaLimitsRepository
from storage.results import ResultsRepository
from storage.state import BotStateRepository
from storage.usage import UsageRepository

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_SECONDS = 30.0
# A member waits for their pictures to be fetched before anything is made: a stuck download is told within seconds.
INPUT_DOWNLOAD_TIMEOUT_SECONDS = 10.0
# aiohttp's own limit is 5 minutes: far too long to find out that a firewall drops everything.
DISCORD_LOGIN_TIMEOUT_SECONDS = 30.0
# Docker waits 10 s between SIGTERM and SIGKILL; finish or cut running jobs well inside that.
SHUTDOWN_GRACE_SECONDS = 6.0
RESERVATION_SWEEP_SECONDS = 60.0


def point_rest_at(base_url: str) -> None:
    """Send every Discord REST call (interaction callbacks and webhooks included) to ``base_url``.

    discord.py builds each route from this one class attribute; REST proxies such as nirn-proxy rely on it too.
    """
    discord.http.Route.BASE = base_url


async def serve(
    settings: Settings, *, shutdown: asyncio.Event | None = None, shutdown_grace: float = SHUTDOWN_GRACE_SECONDS
) -> None:
    """Run the bot until ``shutdown`` is set, SIGTERM/SIGINT arrives, or the connection ends for good.

    Running jobs get ``shutdown_grace`` seconds to finish; the rest are stopped and their members told privately.
    """
    shutdown = shutdown or asyncio.Event()
    point_rest_at(settings.discord_api_base_url)
    async with AsyncExitStack() as stack:
        database = await stack.enter_async_context(open_database(settings.database_path))
        state = BotStateRepository(database)
        http = await stack.enter_async_context(
            httpx2.AsyncClient(timeout=DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=True)
        )
        client = await stack.enter_async_context(
            openai.AsyncOpenAI(
                api_key=settings.openai_api_key.reveal(),
                base_url=settings.openai_base_url,
                timeout=settings.openai_timeout,
                # aiohttp under the SDK: the default httpx2 transport was the bot's largest CPU cost per job.
                http_client=openai.DefaultAioHttpClient(),
                # Retries are ours (RetryPolicy): the SDK would also retry 429 insufficient_quota, which never heals.
                max_retries=0,
            )
        )
        retirement = RetirementWatch(
            client, settings.image_models, ModelNoticesRepository(database), key=settings.image_models_key
        )
        await retirement.check_at_start()
        catalogue = ModelCatalogue(settings.image_models)
        generator = ImageGenerator(
            client,
            catalogue,
            ImageDownloader(http, timeout=DOWNLOAD_TIMEOUT_SECONDS),
            retry=RetryPolicy(max_retries=settings.openai_max_retries),
            answer_within=settings.openai_timeout,
            provider_moderation=settings.provider_moderation,
        )
        quota = QuotaService(
            UsageRepository(database),
            QuotaLimitsRepository(database),
            QuotaDefaults(user_daily=settings.quota_user_daily, guild_daily=settings.quota_guild_daily),
            store_prompts=settings.store_prompts,
        )
        # No job survives a restart, so every reservation still open belongs to a job that died with its process.
        await quota.release_abandoned(at_startup=True)
        sweeper = asyncio.create_task(_sweep_reservations(quota), name="reservation-sweeper")
        stack.callback(sweeper.cancel)
        moderation = ModerationService(
            ModerationRepository(database),
            ContentModerator(client, answer_within=settings.moderation_timeout),
            fail_closed=settings.moderation_fail_closed,
        )
        modlog = ModLog(moderation)
        queue = FairQueue(capacity=settings.image_concurrency, per_member=settings.image_jobs_per_member)
        runner = ImageJobRunner(generator, quota, moderation, queue, safety_salt=await state.safety_salt())
        jobs = JobTracker()
        services = Services(
            runner=runner,
            quota=quota,
            moderation=moderation,
            modlog=modlog,
            jobs=jobs,
            results=ResultsRepository(database),
            images=ImageSettingsService(catalogue, ImageSettingsRepository(database)),
            inputs=InputImages(
                ImageDownloader(http, max_bytes=MAX_INPUT_BYTES, timeout=INPUT_DOWNLOAD_TIMEOUT_SECONDS).fetch,
                ImageInputsRepository(database),
                # Discord's own hosts, and the Discord the operator points the bot at (a REST proxy's, say).
                hosts=DISCORD_MEDIA_HOSTS | {urlsplit(settings.discord_api_base_url).hostname or ""},
            ),
            retirement=retirement,
            progress_interval=settings.progress_edit_interval,
        )
        bot = await stack.enter_async_context(
            ImagineBot(services, heartbeat_file=heartbeat_path(settings.database_path))
        )
        await _log_in(bot, settings)
        assert bot.application_id is not None  # noqa: S101 - login() always fetches it
        await sync_commands_if_changed(
            bot.tree, state, application_id=bot.application_id, guild_ids=settings.command_guild_ids
        )
        _settle_the_heap()
        await _run_until_shutdown(bot, shutdown, lambda: jobs.drain(shutdown_grace))


async def _log_in(bot: ImagineBot, settings: Settings) -> None:
    """Log in to Discord; a Discord that cannot be reached, or that answers with an error, is one clear error (a
    rejected token raises LoginFailure)."""
    where = f"Discord at {without_credentials(settings.discord_api_base_url)}"
    try:
        async with asyncio.timeout(DISCORD_LOGIN_TIMEOUT_SECONDS):
            await bot.login(settings.discord_token.reveal())
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ServiceUnreachableError(where, "DISCORD_API_BASE_URL", reason(exc)) from None
    except discord.HTTPException as exc:
        raise ServiceUnreachableError(where, "DISCORD_API_BASE_URL", f"it answered {exc.status}") from None


def _settle_the_heap() -> None:
    """Move everything built so far (modules, the SDKs' schemas, caches) out of the garbage collector's sight.

    Those objects live as long as the process, yet every full collection would walk all of them, a pause that lands
    at random in the middle of a burst of commands.
    """
    gc.collect()
    gc.freeze()


async def _sweep_reservations(quota: QuotaService) -> None:
    while True:
        await asyncio.sleep(RESERVATION_SWEEP_SECONDS)
        try:
            await quota.release_abandoned(at_startup=False)
        except Exception:
            # A failed sweep (a full disk, say) must not end sweeping: the next one may succeed.
            log.exception("Releasing expired reservations failed")


async def _run_until_shutdown(bot: ImagineBot, shutdown: asyncio.Event, drain: Callable[[], Awaitable[object]]) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):  # not on Windows / not in the main thread
            loop.add_signal_handler(signum, shutdown.set)
    connection = asyncio.create_task(bot.connect(), name="discord-connection")
    stop = asyncio.create_task(shutdown.wait(), name="shutdown-wait")
    try:
        await asyncio.wait({connection, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        log.info("Shutting down")
        # Jobs still need Discord and the provider to finish or to apologise, so they go before any connection.
        await drain()
        await bot.close()
        # Surfaces a fatal connection error (bad token, disallowed intents) once the bot is closed.
        await connection
