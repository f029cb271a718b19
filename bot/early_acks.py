"""Public "thinking…" for chosen commands straight from the gateway, before discord.py builds the interaction.

Under a burst of commands each one cost the bot a few hundred microseconds between its gateway event and its
handler's ``defer`` (building the ``Interaction``, the tree's dispatch, an aiohttp request), so the last of 200
waited for all of that for the 199 before it. Here the acknowledgement is written on a kept-alive connection while
the event is parsed; discord.py's own handling follows once the burst pauses (:class:`AcknowledgementGate`), and the
command tree's check records the acknowledgement on the interaction (:meth:`EarlyAcknowledger.adopt`).

Two private parts of discord.py are used, both exercised by the end-to-end tests: the gateway's table of event
parsers, and the interaction response's record of how it was answered. Without the first, commands are deferred
the usual way, as they are after any early acknowledgement that fails.
"""

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import discord
import httptools

from bot.services.acknowledgements import AcknowledgementGate
from bot.services.keepalive import HttpAnswer, KeepAlivePool

log = logging.getLogger(__name__)

# ``Interaction.extras`` keys: the message id of an early acknowledgement's placeholder, when Discord gave it; and
# the task recording that acknowledgement once Discord answers it.
_PLACEHOLDER_MESSAGE_ID = "placeholder_message_id"
_ACKNOWLEDGEMENT = "early_acknowledgement"
# Discord's error code for a second answer to one interaction.
_ALREADY_ACKNOWLEDGED = 40060
USER_AGENT = (
    f"DiscordBot (https://github.com/Rapptz/discord.py {discord.__version__}) "
    f"Python/{sys.version_info[0]}.{sys.version_info[1]} httptools/{httptools.__version__}"
)

_APPLICATION_COMMAND = 2
_CHAT_INPUT = 1
# An interaction can be answered for 15 minutes; an acknowledgement not adopted by then never will be (discord.py
# could not parse its interaction, say).
_INTERACTION_LIFETIME_SECONDS = 15 * 60
_DEFERRED_PUBLICLY = json.dumps({"type": discord.InteractionResponseType.deferred_channel_message.value}).encode()

EarlyCheck = Callable[[Mapping[str, Any]], bool]
"""Given a slash command's options by name (raw gateway values), whether it is to be acknowledged publicly."""


class EarlyAcknowledger:
    """Acknowledges registered guild slash commands publicly from the gateway parser, on ``pool``.

    discord.py's handling of an acknowledged interaction goes through ``gate``, but never after any later gateway
    event (held interactions are handed over first), and at once if its acknowledgement fails.
    """

    def __init__(
        self, pool: KeepAlivePool, gate: AcknowledgementGate, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._gate = gate
        self._clock = clock
        self._commands: dict[str, EarlyCheck] = {}
        # By interaction id, oldest first: when each acknowledgement was sent, and Discord's answer to it.
        self._pending: dict[int, tuple[float, asyncio.Future[HttpAnswer]]] = {}
        self._parsers: dict[str, Callable[[Any], None]] = {}
        self._originals: dict[str, Callable[[Any], None]] = {}

    def acknowledge_publicly(self, command: str, check: EarlyCheck) -> None:
        """Acknowledge ``/command`` publicly as it arrives, whenever ``check`` passes its options."""
        self._commands[command] = check

    def install(self, client: discord.Client) -> None:
        """Hook into ``client``'s gateway event parsers (before it connects)."""
        parsers: dict[str, Callable[[Any], None]] | None = getattr(
            getattr(client, "_connection", None), "parsers", None
        )
        if parsers is None or "INTERACTION_CREATE" not in parsers:
            log.warning("This discord.py has no INTERACTION_CREATE parser to hook; commands are deferred as usual")
            return
        self._parsers, self._originals = parsers, dict(parsers)
        for event, parse in self._originals.items():
            parsers[event] = (
                self._interaction_parser(parse) if event == "INTERACTION_CREATE" else self._after_held(parse)
            )

    def stop(self) -> None:
        """Acknowledge nothing more early, and hand every held interaction to discord.py now (at shutdown)."""
        self._parsers.update(self._originals)
        self._gate.flush()

    def adopt(self, interaction: discord.Interaction) -> None:
        """Have the early acknowledgement of ``interaction`` (if any) recorded in discord.py once Discord answers it,
        without waiting for that here: the command starts meanwhile, and :func:`acknowledged` waits for it before
        anything answers the interaction.

        After a failed one the interaction is left unanswered, so the command's own ``defer`` sends it again.
        """
        sent = self._pending.pop(interaction.id, None)
        if sent is not None:
            interaction.extras[_ACKNOWLEDGEMENT] = asyncio.ensure_future(_record(interaction, sent[1]))

    def _interaction_parser(self, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def acknowledge_then_parse(data: Any) -> None:
            try:
                answer = self._acknowledge_early(data)
            except Exception:
                # An exception here would end the gateway connection; the usual defer still follows.
                log.exception("Could not acknowledge an interaction early")
                answer = None
            if answer is None:
                parse(data)
                return
            handover = _Once(parse, data)
            # A failed acknowledgement is sent again by the command's own defer: that must not wait for the burst.
            answer.add_done_callback(lambda done: handover() if not _succeeded(done) else None)
            self._gate.acknowledged(handover)

        return acknowledge_then_parse

    def _after_held(self, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def in_order(data: Any) -> None:
            self._gate.flush()  # a held interaction came first, so discord.py sees it first
            parse(data)

        return in_order

    def _acknowledge_early(self, data: Any) -> "asyncio.Future[HttpAnswer] | None":
        if data.get("type") != _APPLICATION_COMMAND or "guild_id" not in data:
            return None
        command = data.get("data") or {}
        check = self._commands.get(str(command.get("name")))
        if check is None or command.get("type", _CHAT_INPUT) != _CHAT_INPUT:
            return None
        if not check({option["name"]: option.get("value") for option in command.get("options", ())}):
            return None
        interaction_id = int(data["id"])
        path = f"/interactions/{interaction_id}/{quote(data['token'], safe='')}/callback?with_response=true"
        answer = self._pool.post_json(path, _DEFERRED_PUBLICLY)
        now = self._clock()
        self._forget_expired(now)
        self._pending[interaction_id] = (now, answer)
        return answer

    def _forget_expired(self, now: float) -> None:
        while self._pending:
            interaction_id, (sent_at, _) = next(iter(self._pending.items()))
            if now - sent_at < _INTERACTION_LIFETIME_SECONDS:
                return
            del self._pending[interaction_id]


async def _record(interaction: discord.Interaction, answer: "asyncio.Future[HttpAnswer]") -> None:
    try:
        result = await answer  # the pool's own timeout bounds the wait
    except (OSError, TimeoutError) as exc:
        log.warning("Early acknowledgement of %s failed (%r); deferring it as usual", interaction.id, exc)
        return
    if not _succeeded(answer):
        log.warning("Early acknowledgement of %s got HTTP %s; deferring it as usual", interaction.id, result.status)
        return
    _mark_deferred_publicly(interaction, _placeholder_id(result.body))


async def acknowledged(interaction: discord.Interaction) -> None:
    """Wait until discord.py knows how ``interaction`` was acknowledged early, if it was: call before answering."""
    recording: asyncio.Future[None] | None = interaction.extras.get(_ACKNOWLEDGEMENT)
    if recording is not None:
        await asyncio.shield(recording)  # shared by every caller, and never raises


async def public_placeholder(interaction: discord.Interaction) -> int | None:
    """Make sure ``interaction`` shows a public "thinking…"; returns the placeholder's message id when Discord gave it.

    An interaction acknowledged early shows it already; any other is deferred through discord.py now. A 40060
    answer to that means an early acknowledgement whose answer was lost on the way back had reached Discord.
    """
    await acknowledged(interaction)
    if interaction.response.is_done():
        return interaction.extras.get(_PLACEHOLDER_MESSAGE_ID)
    try:
        callback = await interaction.response.defer(thinking=True)
    except discord.HTTPException as exc:
        if exc.code != _ALREADY_ACKNOWLEDGED:
            raise
        _mark_deferred_publicly(interaction, None)
        return None
    return callback.message_id if callback is not None else None


def _mark_deferred_publicly(interaction: discord.Interaction, placeholder_id: int | None) -> None:
    """Record on ``interaction`` that a public "thinking…" answered it, though discord.py did not send it."""
    # discord.py has no public way to learn of an acknowledgement it did not send itself.
    interaction.response._response_type = discord.InteractionResponseType.deferred_channel_message
    interaction.extras[_PLACEHOLDER_MESSAGE_ID] = placeholder_id


class _Once:
    """``parse(data)``, run the first time it is called only."""

    def __init__(self, parse: Callable[[Any], None], data: Any) -> None:
        self._parse: Callable[[Any], None] | None = parse
        self._data = data

    def __call__(self) -> None:
        parse, self._parse = self._parse, None
        if parse is not None:
            parse(self._data)


def _succeeded(answer: "asyncio.Future[HttpAnswer]") -> bool:
    return not answer.cancelled() and answer.exception() is None and 200 <= answer.result().status < 300


def _placeholder_id(body: bytes) -> int | None:
    try:
        return int(json.loads(body)["interaction"]["response_message_id"])
    except (ValueError, KeyError, TypeError):
        return None
