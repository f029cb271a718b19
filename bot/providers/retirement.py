"""Noticing that OpenAI retires a configured model, before members do.

At start-up the endpoint's model list (``GET /v1/models``) decides: a configured model it does not list, or whose
``shutdown_date`` has passed, stops the bot with one line; one with a date ahead is a warning, repeated daily and
shown to server admins. An endpoint without the route (many proxies) gets one warning, and the bot runs on.
"""

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http import HTTPStatus

import openai

from bot.core.errors import ConfigError, ServiceUnreachableError, without_credentials
from bot.core.images.catalogue import is_image_model
from storage.model_notices import ModelNoticesRepository

log = logging.getLogger(__name__)

# Mod-log notices go out this many days before a shutdown, each once.
NOTICE_DAYS = (30, 7, 1)
LIST_TIMEOUT_SECONDS = 20.0


def utc_today() -> date:
    """Today's date in UTC, the calendar of OpenAI's shutdown dates."""
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class Retirement:
    """A configured model with a shutdown date ahead."""

    model: str
    shutdown_date: date

    def days_left(self, today: date) -> int:
        """Whole days from ``today`` until the shutdown."""
        return (self.shutdown_date - today).days

    def notice_due(self, today: date) -> int | None:
        """Which notice (30, 7 or 1 days before) is due ``today``: the most urgent one reached, if any."""
        days_left = self.days_left(today)
        if days_left <= 0:
            return None
        return min((days for days in NOTICE_DAYS if days_left <= days), default=None)


class RetirementWatch:
    """Checks the configured models against the endpoint's list, and remembers the shutdowns ahead."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        models: tuple[str, ...],
        notices: ModelNoticesRepository,
        *,
        key: str,
        today: Callable[[], date] = utc_today,
    ) -> None:
        self._client = client
        self._models = models
        self._notices = notices
        self._key = key
        self.today = today
        self._upcoming: tuple[Retirement, ...] = ()
        self._lists_models = True  # until the endpoint shows it never will (one warning, not one a day)

    @property
    def upcoming(self) -> tuple[Retirement, ...]:
        """The offered models with a shutdown date still ahead, as of the last successful look."""
        today = self.today()
        return tuple(retirement for retirement in self._upcoming if retirement.shutdown_date > today)

    async def check_at_start(self) -> None:
        """Raise :class:`ConfigError` (a retired or unknown model, a refused key) or
        :class:`ServiceUnreachableError`; otherwise log what is coming."""
        try:
            listed = await self._listed()
        except openai.AuthenticationError as exc:
            raise ConfigError("OPENAI_API_KEY", f"the endpoint refused this key ({exc.status_code})") from None
        except openai.APIConnectionError as exc:  # timeouts included
            endpoint = f"the image endpoint at {without_credentials(str(self._client.base_url))}"
            raise ServiceUnreachableError(endpoint, "OPENAI_BASE_URL", reason(exc)) from None
        if listed is None:
            return
        for model in self._models:
            if (problem := self._problem(listed, model)) is not None:
                active = sorted(name for name, day in listed.items() if is_image_model(name) and not self._past(day))
                suggestion = ", ".join(active) or "none"
                raise ConfigError(self._key, f"{model} {problem}; the endpoint's active image models: {suggestion}")
        self._remember(listed)

    async def check_daily(self) -> None:
        """Look again; a failure only leaves the last answer standing (members' requests show the rest)."""
        if not self._lists_models:
            return
        try:
            listed = await self._listed()
        except openai.OpenAIError as exc:
            log.warning("Could not check the image models' shutdown dates today: %s", reason(exc))
            return
        if listed is None:
            return
        for model in self._models:
            if (problem := self._problem(listed, model)) is not None:
                log.error(
                    "%s %r %s: members' requests for it fail until %s changes", self._key, model, problem, self._key
                )
        self._remember(listed)

    async def claim_notice(self, guild_id: int, retirement: Retirement, days_before: int) -> bool:
        """Whether this server's notice is still to be posted; from now on it counts as posted."""
        date_key = retirement.shutdown_date.isoformat()
        return await self._notices.claim(guild_id, retirement.model, date_key, days_before, now=int(time.time()))

    async def release_notice(self, guild_id: int, retirement: Retirement, days_before: int) -> None:
        """The notice could not be posted (no mod-log yet): the next check tries again."""
        await self._notices.release(guild_id, retirement.model, retirement.shutdown_date.isoformat(), days_before)

    def _remember(self, listed: dict[str, date | None]) -> None:
        today = self.today()
        self._upcoming = tuple(
            Retirement(model, shutdown)
            for model in self._models
            if (shutdown := listed.get(model)) is not None and shutdown > today
        )
        for retirement in self.upcoming:
            log.warning(
                "OpenAI shuts down the image model %r (%s) on %s, in %d day(s): choose another before then",
                retirement.model,
                self._key,
                retirement.shutdown_date,
                retirement.days_left(today),
            )

    async def _listed(self) -> dict[str, date | None] | None:
        """The endpoint's models with their shutdown dates; ``None``, with a warning, where it gives no usable list.
        A refused key and an unreachable endpoint are raised."""
        listed: dict[str, date | None] = {}
        try:
            async for model in self._client.models.list(timeout=LIST_TIMEOUT_SECONDS):
                listed[model.id] = _date(model.shutdown_date)
        except (openai.AuthenticationError, openai.APIConnectionError):
            raise
        except openai.APIStatusError as exc:
            if exc.status_code == HTTPStatus.NOT_FOUND:
                self._lists_models = False
                log.warning(
                    "The endpoint does not list its models (GET /models answered 404), so retired models cannot be "
                    "noticed ahead: a retired model shows as members' requests failing"
                )
            elif exc.status_code == HTTPStatus.FORBIDDEN:
                self._lists_models = False
                log.warning(
                    "This API key may not list models (403): give it read access to Models, so that "
                    "retired models are noticed ahead"
                )
            else:
                log.warning("Could not list the endpoint's models (%s); trying again tomorrow", exc.status_code)
            return None
        except Exception as exc:  # a proxy answering something else than a model list (an HTML page, say)
            self._lists_models = False
            log.warning(
                "The endpoint's model list could not be read (%s): retired models cannot be noticed ahead",
                type(exc).__name__,
            )
            return None
        return listed

    def _problem(self, listed: dict[str, date | None], model: str) -> str | None:
        """Why ``model`` cannot be used, by the endpoint's list; ``None`` if it can."""
        if model not in listed:
            return "is not served by the endpoint"
        if self._past(listed[model]):
            return f"was shut down on {listed[model]}"
        return None

    def _past(self, shutdown: date | None) -> bool:
        return shutdown is not None and shutdown <= self.today()


def _date(raw: object) -> date | None:
    """A shutdown date; the SDK does not check the field's type, so a proxy may send anything."""
    if not raw:
        return None
    try:
        if isinstance(raw, str):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    log.warning("Ignoring a shutdown date the endpoint sent in an unknown form: %s", repr(raw)[:40])
    return None


def reason(exc: BaseException) -> str:
    """A short reason from an exception's chain: the operating system's words where it has some (the SDK reports
    a refused connection as a timeout, with the real error further down)."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for cause in chain:
        if isinstance(cause, OSError) and not isinstance(cause, TimeoutError) and (cause.errno or cause.strerror):
            # asyncio words a refusal "Connect call failed (...)"; the errno says it plainly. DNS errnos are negative.
            return (os.strerror(cause.errno) if cause.errno and cause.errno > 0 else str(cause.strerror)).lower()
    if any(isinstance(cause, TimeoutError | openai.APITimeoutError) for cause in chain):
        return "timed out"
    return str(exc) or type(exc).__name__
