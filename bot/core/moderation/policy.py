"""Moderation policy: the layered prompt check, output check, refusals with strikes, suspensions and appeals."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.cache import GuildCache
from bot.core.errors import (
    AppealError,
    InvalidSettingError,
    ModerationUnavailableError,
    PromptRefusedError,
    SuspendedError,
)
from bot.core.moderation.blocklist import DEFAULT_WORDS, BlockEntry, Blocklist, BlockMatch, prepare_entry
from bot.core.moderation.normalize import clean_prompt, fold
from bot.core.moderation.thresholds import CATEGORIES, ModerationScores, Moderator, blocked_categories, thresholds_for
from storage.moderation import Appeal, Layer, ModerationRepository, ModerationSettings, Refusal

log = logging.getLogger(__name__)

APPEALS_PER_MEMBER_PER_DAY = 3
# Only our own layers can be appealed: the provider's refusal (or its flag on an image) would simply happen again.
APPEALABLE_LAYERS = frozenset({"blocklist", "endpoint"})


@dataclass(frozen=True)
class Verdict:
    """What the moderation layers decided about one prompt or image."""

    layer: Layer | None = None
    categories: tuple[str, ...] = ()
    findings: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        """True when no layer objected."""
        return self.layer is None


ALLOWED = Verdict()


@dataclass(frozen=True)
class DryRun:
    """What each layer says about a prompt, for moderators tuning their settings."""

    folded: list[str]
    blocklist_match: str | None
    scores: ModerationScores | None
    thresholds: dict[str, float | None]
    blocked: tuple[str, ...]
    endpoint_error: str | None


class ModerationService:
    """Runs the layers in order and keeps the records. Blocklists are compiled once per guild and cached."""

    def __init__(
        self,
        repository: ModerationRepository,
        moderator: Moderator,
        *,
        fail_closed: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repository
        self._moderator = moderator
        self._fail_closed = fail_closed
        self._clock = clock
        # Read for every job, changed only through this service: cached per guild.
        self._settings = GuildCache(self._repo.settings)
        self._thresholds = GuildCache(self._repo.thresholds)
        self._blocklists = GuildCache(self._load_blocklist)
        # Read for every job too; written only here (strikes, appeals, moderators). Ends are checked when read.
        self._suspensions = GuildCache(lambda guild_id: self._repo.suspensions(guild_id, now=self._now()))

    def _now(self) -> int:
        return int(self._clock().timestamp())

    async def settings(self, guild_id: int) -> ModerationSettings:
        """The guild's moderation settings."""
        return await self._settings.get(guild_id)

    # -- checks ------------------------------------------------------------------------------------------------

    async def ensure_not_suspended(self, guild_id: int, user_id: int) -> None:
        """Raise :class:`SuspendedError` while the member is suspended from /imagine."""
        until = (await self._suspensions.get(guild_id)).get(user_id)
        if until is not None and until > self._now():
            raise SuspendedError(datetime.fromtimestamp(until, UTC))

    async def blocklist(self, guild_id: int) -> Blocklist:
        """The guild's compiled blocklist: its own entries, plus the defaults unless it turned them off."""
        return await self._blocklists.get(guild_id)

    async def _load_blocklist(self, guild_id: int) -> Blocklist:
        entries = await self.own_blocklist(guild_id)
        if (await self.settings(guild_id)).default_blocklist:
            entries += [BlockEntry(word, "word") for word in DEFAULT_WORDS]
        return Blocklist(entries)

    async def _blocklist_match(self, guild_id: int, prompt: str) -> BlockMatch | None:
        blocklist = await self.blocklist(guild_id)
        if blocklist.is_quick_for(prompt):
            return blocklist.match(prompt)
        # Folding and matching a 4,000-character prompt against hundreds of entries is CPU work: off the loop.
        return await asyncio.to_thread(blocklist.match, prompt)

    async def check_prompt(self, guild_id: int, prompt: str, *, age_restricted: bool) -> Verdict:
        """Layers 1-3: the folded prompt against the blocklist, then the moderation endpoint with thresholds."""
        found = await self._blocklist_match(guild_id, prompt)
        if found is not None:
            return Verdict("blocklist", ("blocklist",), {"blocklist": found.entry.pattern})
        try:
            scores = await self._moderator.check_text(prompt)
        except ModerationUnavailableError:
            if self._fail_closed:
                raise
            log.warning("Moderation endpoint unavailable; allowing the prompt (MODERATION_FAIL_CLOSED=false)")
            return ALLOWED
        return await self._judge("endpoint", guild_id, scores, age_restricted=age_restricted)

    async def check_output(self, guild_id: int, image: bytes, mime_type: str, *, age_restricted: bool) -> Verdict:
        """A generated image through the endpoint's image input (callers skip it where the output check is off)."""
        try:
            scores = await self._moderator.check_image(image, mime_type)
        except ModerationUnavailableError:
            if self._fail_closed:
                raise
            log.warning("Moderation endpoint unavailable; posting unchecked (MODERATION_FAIL_CLOSED=false)")
            return ALLOWED
        return await self._judge("output", guild_id, scores, age_restricted=age_restricted)

    async def check_input(
        self, guild_id: int, picture: int, image: bytes, mime_type: str, *, age_restricted: bool
    ) -> Verdict:
        """A picture a member gave to remix (number ``picture``, from 1), judged like the prompt: a refusal is a
        strike, and can be appealed. Fails closed or open as prompts do."""
        try:
            scores = await self._moderator.check_image(image, mime_type)
        except ModerationUnavailableError:
            if self._fail_closed:
                raise
            log.warning("Moderation endpoint unavailable; allowing the picture (MODERATION_FAIL_CLOSED=false)")
            return ALLOWED
        verdict = await self._judge("endpoint", guild_id, scores, age_restricted=age_restricted)
        if verdict.allowed:
            return verdict
        return replace(verdict, findings={"picture": picture, **verdict.findings})

    async def _judge(self, layer: Layer, guild_id: int, scores: ModerationScores, *, age_restricted: bool) -> Verdict:
        thresholds = thresholds_for(await self._thresholds.get(guild_id), age_restricted=age_restricted)
        blocked = blocked_categories(scores, thresholds)
        if not blocked:
            return ALLOWED
        return Verdict(layer, blocked, {category: round(scores.scores.get(category, 0.0), 4) for category in blocked})

    async def dry_run(self, guild_id: int, prompt: str, *, age_restricted: bool) -> DryRun:
        """Every layer's opinion on ``prompt`` (cleaned as /imagine cleans it), without recording anything."""
        prompt = clean_prompt(prompt)
        found = await self._blocklist_match(guild_id, prompt)
        thresholds = thresholds_for(await self._thresholds.get(guild_id), age_restricted=age_restricted)
        try:
            scores = await self._moderator.check_text(prompt)
        except ModerationUnavailableError as exc:
            return DryRun(fold(prompt), found.entry.pattern if found else None, None, thresholds, (), str(exc))
        blocked = blocked_categories(scores, thresholds)
        return DryRun(fold(prompt), found.entry.pattern if found else None, scores, thresholds, blocked, None)

    # -- refusals, strikes, suspensions --------------------------------------------------------------------------

    async def refuse(
        self,
        *,
        guild_id: int,
        channel_id: int,
        user_id: int,
        verdict: Verdict,
        prompt: str,
        options: dict[str, Any],
        approved: bool = False,
    ) -> PromptRefusedError:
        """Record a refusal and return the error that tells the member.

        A refusal of the prompt is a strike (and may suspend); a withheld picture is not (the member never saw it and
        cannot appeal it), nor is anything refused in a run a moderator ``approved``.
        """
        assert verdict.layer is not None  # noqa: S101 - only refused verdicts are recorded
        settings = await self.settings(guild_id)
        strike = verdict.layer != "output" and not approved
        try:
            refusal_id, suspended_until = await self._repo.record_refusal(
                guild_id=guild_id,
                channel_id=channel_id,
                user_id=user_id,
                layer=verdict.layer,
                findings=verdict.findings,
                prompt=prompt,
                options=options,
                strike=strike,
                now=self._now(),
                settings=settings,
            )
        finally:
            if strike:  # it may have suspended the member, even if this task was stopped as it committed
                self._suspensions.changed(guild_id)
        return PromptRefusedError(
            layer=verdict.layer,
            categories=verdict.categories,
            refusal_id=refusal_id,
            appealable=verdict.layer in APPEALABLE_LAYERS and not approved,
            suspended_until=datetime.fromtimestamp(suspended_until, UTC) if suspended_until else None,
            picture=verdict.findings.get("picture"),
        )

    async def refusal(self, refusal_id: int) -> Refusal | None:
        """A recorded refusal."""
        return await self._repo.refusal(refusal_id)

    async def strikes(self, guild_id: int, user_id: int | None = None) -> list[Refusal]:
        """Strikes within the guild's window, newest first."""
        settings = await self.settings(guild_id)
        since = self._now() - settings.strike_window_hours * 3600
        return await self._repo.strikes(guild_id, since=since, user_id=user_id)

    async def pardon(self, guild_id: int, user_id: int, *, moderator_id: int) -> int:
        """Clear a member's strikes (their suspension, if any, stays until lifted)."""
        return await self._repo.pardon(guild_id, user_id, by=moderator_id, now=self._now())

    async def suspend(self, guild_id: int, user_id: int, hours: int, *, moderator_id: int) -> datetime:
        """Suspend a member from /imagine for ``hours``."""
        until = self._clock() + timedelta(hours=hours)
        try:
            await self._repo.suspend(
                guild_id,
                user_id,
                until=int(until.timestamp()),
                reason="by a moderator",
                by=moderator_id,
                now=self._now(),
            )
        finally:  # a failed single write may still have been committed
            self._suspensions.changed(guild_id)
        return until

    async def unsuspend(self, guild_id: int, user_id: int) -> bool:
        """Lift a member's suspension."""
        try:
            return await self._repo.unsuspend(guild_id, user_id, now=self._now())
        finally:
            self._suspensions.changed(guild_id)

    # -- appeals -----------------------------------------------------------------------------------------------

    async def open_appeal(self, refusal_id: int, *, user_id: int, guild_id: int) -> tuple[Appeal, Refusal]:
        """Open an appeal for the member who was refused, in that server; raises :class:`AppealError` if not."""
        refusal = await self._repo.refusal(refusal_id)
        if refusal is None or refusal.user_id != user_id or refusal.guild_id != guild_id:
            raise AppealError("not_yours")
        if refusal.layer not in APPEALABLE_LAYERS:
            raise AppealError("not_appealable")
        today = self._clock().replace(hour=0, minute=0, second=0, microsecond=0)
        outcome = await self._repo.create_appeal(
            refusal, now=self._now(), day_start=int(today.timestamp()), per_day=APPEALS_PER_MEMBER_PER_DAY
        )
        if outcome == "limit":
            raise AppealError("limit")
        if outcome == "already":
            raise AppealError("already")
        return outcome, refusal

    async def withdraw_appeal(self, appeal: Appeal) -> None:
        """The appeal could not be put in front of the moderators: it never happened."""
        await self._repo.withdraw_appeal(appeal.id)

    async def decide_appeal(
        self, appeal_id: int, *, approve: bool, moderator_id: int, guild_id: int
    ) -> tuple[Appeal, Refusal]:
        """Approve (overturning the refusal's strike) or deny; raises :class:`AppealError` if it is not this
        server's appeal or another moderator decided first."""
        existing = await self._repo.appeal(appeal_id)
        if existing is None or existing.guild_id != guild_id:
            raise AppealError("not_here")
        appeal = await self._repo.decide_appeal(
            appeal_id, "approved" if approve else "denied", by=moderator_id, now=self._now()
        )
        if appeal is None:
            raise AppealError("decided")
        refusal = await self._repo.refusal(appeal.refusal_id)
        assert refusal is not None  # noqa: S101 - foreign key
        if approve:
            settings = await self.settings(guild_id)
            try:
                await self._repo.pardon_refusal(refusal, by=moderator_id, now=self._now(), settings=settings)
            finally:
                self._suspensions.changed(guild_id)  # the suspension this strike caused may be gone
        return appeal, refusal

    # -- settings ----------------------------------------------------------------------------------------------

    async def add_blocklist_entry(self, guild_id: int, pattern: str, *, regex: bool, moderator_id: int) -> BlockEntry:
        """Add a word (whole-word match) or regex; returns the entry as stored."""
        entry = prepare_entry(pattern, "regex" if regex else "word")
        if not await self._repo.add_blocklist_entry(
            guild_id, entry.kind, entry.pattern, added_by=moderator_id, now=self._now()
        ):
            raise InvalidSettingError(f"{entry.pattern!r} is already on the list")
        self._blocklists.changed(guild_id)
        return entry

    async def remove_blocklist_entry(self, guild_id: int, pattern: str) -> bool:
        """Remove one of the guild's entries, written as listed."""
        removed = await self._repo.remove_blocklist_entry(guild_id, " ".join(pattern.split()))
        self._blocklists.changed(guild_id)
        return removed

    async def own_blocklist(self, guild_id: int) -> list[BlockEntry]:
        """The guild's own entries, as moderators wrote them."""
        return [BlockEntry(pattern, kind) for kind, pattern in await self._repo.blocklist(guild_id)]  # type: ignore[arg-type]

    async def clear_blocklist(self, guild_id: int) -> int:
        """Remove the guild's own entries and turn the default list off."""
        removed = await self._repo.clear_blocklist(guild_id)
        await self.update_settings(guild_id, default_blocklist=False)
        return removed

    async def update_settings(self, guild_id: int, **values: int | bool | None) -> None:
        """Change moderation settings."""
        await self._repo.update_settings(guild_id, **values)
        self._settings.changed(guild_id)
        self._blocklists.changed(guild_id)  # it depends on whether the default list is on

    async def thresholds(self, guild_id: int) -> dict[str, float]:
        """The guild's own thresholds."""
        return await self._thresholds.get(guild_id)

    async def set_threshold(self, guild_id: int, category: str, block_at: float | None) -> None:
        """Set (or with ``None`` reset) a category's threshold."""
        if category not in CATEGORIES:
            raise InvalidSettingError(f"unknown category {category!r}")
        if block_at is not None and not 0 <= block_at <= 1:
            raise InvalidSettingError("a threshold is a score from 0 to 1")
        await self._repo.set_threshold(guild_id, category, block_at)
        self._thresholds.changed(guild_id)

    async def note_modlog_problem(self, guild_id: int, problem: str) -> bool:
        """Remember that the mod-log failed; True the first time (so it is logged once)."""
        return await self._repo.note_modlog_problem(guild_id, problem)

    async def take_unreported_modlog_problem(self, guild_id: int) -> str | None:
        """A mod-log problem no admin has been told about yet (marked told)."""
        return await self._repo.take_unreported_modlog_problem(guild_id)

    async def modlog_works(self, guild_id: int) -> None:
        """The mod-log accepted a message."""
        await self._repo.clear_modlog_problem(guild_id)
