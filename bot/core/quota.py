"""Daily image quotas: which limits apply to a member, and reserve-then-settle around every job."""

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Literal

from bot.core.cache import GuildCache
from bot.core.errors import InvalidSettingError, QuotaExceededError
from storage.quota_limits import AdminChange, LimitKind, LimitRow, QuotaLimitsRepository
from storage.usage import Refused, ReservationRequest, UsageRepository

log = logging.getLogger(__name__)

# A job never outlives its interaction token (15 min, enforced by the cog), so a reservation still open after this
# belongs to a job that died with its process.
RESERVATION_TTL = timedelta(minutes=16)
MAX_LIMIT = 1_000_000

Limit = int | None
"""A daily number of images; ``None`` is unlimited."""
DEFAULT: Literal["default"] = "default"
LimitInput = Limit | Literal["default"]
"""What an admin may set: a number, unlimited (``None``), or back to the default."""


def parse_limit(text: str) -> LimitInput:
    """Read an admin's limit: a whole number, ``unlimited`` or ``default``."""
    value = text.strip().casefold()
    if value in ("unlimited", "none", "∞"):
        return None
    if value == DEFAULT:
        return DEFAULT
    if value.isascii() and value.isdigit() and int(value) <= MAX_LIMIT:
        return int(value)
    raise InvalidSettingError(f"use a whole number from 0 to {MAX_LIMIT}, 'unlimited' or 'default'")


def describe_limit(limit: Limit) -> str:
    """How a limit reads in messages and the audit trail."""
    return "unlimited" if limit is None else str(limit)


@dataclass(frozen=True)
class QuotaDefaults:
    """The limits that apply where a guild has no override (``QUOTA_USER_DAILY``, ``QUOTA_GUILD_DAILY``)."""

    user_daily: Limit = 10
    guild_daily: Limit = None


@dataclass(frozen=True)
class MemberRef:
    """Who is asking, and where: enough to find their limits."""

    guild_id: int
    user_id: int
    role_ids: frozenset[int]


@dataclass(frozen=True)
class MemberLimits:
    """The limits that apply to one member right now."""

    user_limit: Limit
    guild_limit: Limit
    exempt: bool


@dataclass(frozen=True)
class GuildQuotaSettings:
    """A guild's quota configuration with defaults filled in."""

    guild_limit: Limit
    user_default: Limit
    guild_limit_overridden: bool
    user_default_overridden: bool
    role_limits: Mapping[int, Limit]
    user_limits: Mapping[int, Limit]
    exempt_roles: frozenset[int]

    def limits_for(self, user_id: int, role_ids: frozenset[int]) -> MemberLimits:
        """A per-user override wins; then exempt roles; then the most generous role limit; then the default."""
        if user_id in self.user_limits:
            return MemberLimits(self.user_limits[user_id], self.guild_limit, exempt=False)
        if self.exempt_roles & role_ids:
            return MemberLimits(None, None, exempt=True)
        role_limits = [self.role_limits[role] for role in role_ids if role in self.role_limits]
        if role_limits:
            most_generous = None if None in role_limits else max(r for r in role_limits if r is not None)
            return MemberLimits(most_generous, self.guild_limit, exempt=False)
        return MemberLimits(self.user_default, self.guild_limit, exempt=False)


@dataclass(frozen=True)
class Reservation:
    """Images held for one job until it is settled or released."""

    generation_id: int
    images: int
    started: float


@dataclass(frozen=True)
class QuotaStatus:
    """What a member has left today, and when it resets."""

    user_used: int
    user_limit: Limit
    guild_used: int
    guild_limit: Limit
    exempt: bool
    resets_at: datetime


def _elapsed_ms(reservation: Reservation) -> int:
    return int((time.perf_counter() - reservation.started) * 1000)


def _describe_override(row: LimitRow | None) -> str:
    return DEFAULT if row is None else describe_limit(row.daily_limit)


def _describe_exemption(row: LimitRow | None) -> str:
    return "exempt" if row is not None else "not exempt"


class QuotaService:
    """Quota policy over the usage and limits repositories. Days are UTC days.

    Guild settings are cached (they change only through this service), so a reservation needs one database
    statement, not two.
    """

    def __init__(
        self,
        usage: UsageRepository,
        limits: QuotaLimitsRepository,
        defaults: QuotaDefaults,
        *,
        store_prompts: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._usage = usage
        self._limits = limits
        self._defaults = defaults
        self._store_prompts = store_prompts
        self._clock = clock
        self._settings = GuildCache(self._load_settings)

    def _day(self) -> tuple[datetime, str, datetime]:
        now = self._clock()
        midnight = datetime.combine(now.date() + timedelta(days=1), dtime(0), tzinfo=UTC)
        return now, now.date().isoformat(), midnight

    async def settings(self, guild_id: int) -> GuildQuotaSettings:
        """The guild's configuration, defaults included."""
        return await self._settings.get(guild_id)

    async def _load_settings(self, guild_id: int) -> GuildQuotaSettings:
        rows = await self._limits.overrides(guild_id)
        by_kind: dict[LimitKind, dict[int, Limit]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, {})[row.target_id] = row.daily_limit
        guild = by_kind.get("guild", {})
        user_default = by_kind.get("user_default", {})
        return GuildQuotaSettings(
            guild_limit=guild.get(0, self._defaults.guild_daily),
            user_default=user_default.get(0, self._defaults.user_daily),
            guild_limit_overridden=0 in guild,
            user_default_overridden=0 in user_default,
            role_limits=by_kind.get("role", {}),
            user_limits=by_kind.get("user", {}),
            exempt_roles=frozenset(by_kind.get("exempt_role", {})),
        )

    async def reserve(
        self,
        member: MemberRef,
        *,
        channel_id: int,
        images: int,
        model: str,
        size: str,
        prompt: str,
        input_images: int = 0,
    ) -> Reservation:
        """Hold ``images`` for a job (which sends ``input_images`` pictures with its prompt, for a remix), or raise
        :class:`QuotaExceededError` naming the limit that was hit. A remix counts like any other job."""
        limits = (await self.settings(member.guild_id)).limits_for(member.user_id, member.role_ids)
        now, day, resets_at = self._day()
        outcome = await self._usage.reserve(
            ReservationRequest(
                guild_id=member.guild_id,
                channel_id=channel_id,
                user_id=member.user_id,
                usage_day=day,
                images=images,
                counts_for_guild=not limits.exempt,
                user_limit=limits.user_limit,
                guild_limit=limits.guild_limit,
                model=model,
                size=size,
                input_images=input_images,
                prompt_hash=hashlib.sha256(prompt.encode()).hexdigest(),
                prompt=prompt if self._store_prompts else None,
                now=int(now.timestamp()),
                expires_at=int((now + RESERVATION_TTL).timestamp()),
            )
        )
        if isinstance(outcome, Refused):
            scope: Literal["user", "server"]
            if outcome.blocked_by == "quota_user":
                scope, limit, used = "user", limits.user_limit, outcome.usage.user_used
            else:
                scope, limit, used = "server", limits.guild_limit, outcome.usage.guild_used
            assert limit is not None  # noqa: S101 - an unlimited limit never refuses
            raise QuotaExceededError(
                scope=scope, limit=limit, remaining=max(0, limit - used), requested=images, resets_at=resets_at
            )
        return Reservation(outcome, images, time.perf_counter())

    async def settle(self, reservation: Reservation) -> None:
        """The images were delivered: they stay counted."""
        settled = await self._usage.settle(
            reservation.generation_id, now=int(self._clock().timestamp()), duration_ms=_elapsed_ms(reservation)
        )
        if not settled:
            log.warning("Reservation %s was no longer open when its images were delivered", reservation.generation_id)

    async def release(self, reservation: Reservation, outcome: str) -> None:
        """Nothing was delivered: give the images back, remembering why."""
        await self._usage.release(
            reservation.generation_id,
            now=int(self._clock().timestamp()),
            duration_ms=_elapsed_ms(reservation),
            outcome=outcome,
        )

    async def release_abandoned(self, *, at_startup: bool) -> int:
        """Release reservations whose job died: every open one at start-up, expired ones otherwise."""
        released = await self._usage.release_open(now=int(self._clock().timestamp()), expired_only=not at_startup)
        if released:
            log.warning("Released %d reservation(s) left open by jobs that did not finish", released)
        return released

    async def status(self, member: MemberRef) -> QuotaStatus:
        """The member's and the server's usage against their limits today."""
        limits = (await self.settings(member.guild_id)).limits_for(member.user_id, member.role_ids)
        _, day, resets_at = self._day()
        usage = await self._usage.usage(member.guild_id, member.user_id, day)
        return QuotaStatus(
            user_used=usage.user_used,
            user_limit=limits.user_limit,
            guild_used=usage.guild_used,
            guild_limit=limits.guild_limit,
            exempt=limits.exempt,
            resets_at=resets_at,
        )

    async def set_limit(
        self, guild_id: int, kind: LimitKind, target_id: int, value: LimitInput, *, actor_id: int
    ) -> None:
        """Change one override (``DEFAULT`` removes it) and record the change."""
        await self._limits.change(
            guild_id,
            kind,
            target_id,
            remove=value == DEFAULT,
            daily_limit=None if value == DEFAULT else value,
            describe=_describe_override,
            actor_id=actor_id,
            action=f"set {kind} limit",
            now=int(self._clock().timestamp()),
        )
        self._settings.changed(guild_id)

    async def set_exempt(self, guild_id: int, role_id: int, exempt: bool, *, actor_id: int) -> None:
        """Make a role exempt from quotas, or not, and record the change."""
        await self._limits.change(
            guild_id,
            "exempt_role",
            role_id,
            remove=not exempt,
            daily_limit=None,
            describe=_describe_exemption,
            actor_id=actor_id,
            action="set exempt role",
            now=int(self._clock().timestamp()),
        )
        self._settings.changed(guild_id)

    async def reset_today(self, guild_id: int, user_id: int, *, actor_id: int) -> int:
        """Forgive the member's images today, delivered or on their way; returns how many. Recorded like every admin
        change."""
        now, day, _ = self._day()
        return await self._limits.reset_usage(guild_id, user_id, day, actor_id=actor_id, now=int(now.timestamp()))

    async def recent_changes(self, guild_id: int, limit: int = 10) -> list[AdminChange]:
        """The latest admin changes to this guild's quotas, newest first."""
        return await self._limits.recent_changes(guild_id, limit)
