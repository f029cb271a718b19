"""Quota usage: reservations that become deliveries or are released, one row per job in ``generations``."""

from dataclasses import asdict, dataclass
from typing import Literal

from storage.database import Database

Blocked = Literal["quota_user", "quota_guild"]

_USER_USED = """
    SELECT COALESCE(SUM(images), 0) FROM generations
    WHERE guild_id = :guild_id AND usage_day = :usage_day AND user_id = :user_id
      AND state IN ('reserved', 'delivered') AND forgiven_at IS NULL
"""
_GUILD_USED = """
    SELECT COALESCE(SUM(images), 0) FROM generations
    WHERE guild_id = :guild_id AND usage_day = :usage_day AND counts_for_guild = 1
      AND state IN ('reserved', 'delivered') AND forgiven_at IS NULL
"""
# The limit check and the insert are one statement inside BEGIN IMMEDIATE: no other writer can slip in between.
_RESERVE = f"""
    INSERT INTO generations (
        guild_id, channel_id, user_id, usage_day, images, counts_for_guild, state,
        model, size, prompt_hash, prompt, created_at, expires_at
    )
    SELECT :guild_id, :channel_id, :user_id, :usage_day, :images, :counts_for_guild, 'reserved',
           :model, :size, :prompt_hash, :prompt, :now, :expires_at
    WHERE (:user_limit IS NULL OR ({_USER_USED}) + :images <= :user_limit)
      AND (:guild_limit IS NULL OR ({_GUILD_USED}) + :images <= :guild_limit)
"""
_REFUSE = """
    INSERT INTO generations (
        guild_id, channel_id, user_id, usage_day, images, counts_for_guild, state, outcome,
        model, size, prompt_hash, prompt, created_at, finished_at
    )
    VALUES (:guild_id, :channel_id, :user_id, :usage_day, :images, :counts_for_guild, 'refused', :outcome,
            :model, :size, :prompt_hash, :prompt, :now, :now)
"""


@dataclass(frozen=True)
class ReservationRequest:
    """Everything needed to reserve ``images`` for one job, with the limits that apply (``None``: unlimited)."""

    guild_id: int
    channel_id: int
    user_id: int
    usage_day: str
    images: int
    counts_for_guild: bool
    user_limit: int | None
    guild_limit: int | None
    model: str
    size: str
    prompt_hash: str
    prompt: str | None
    now: int
    expires_at: int


@dataclass(frozen=True)
class Usage:
    """Images counted today for one member and for their guild (reservations included)."""

    user_used: int
    guild_used: int


@dataclass(frozen=True)
class Refused:
    """Which limit turned a reservation down, and the usage that did it."""

    blocked_by: Blocked
    usage: Usage


class UsageRepository:
    """Atomic reservations against daily limits, and their settlement."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def reserve(self, request: ReservationRequest) -> int | Refused:
        """Reserve the images if both limits allow it and return the reservation's id; else record the refusal.

        The check and the insert are one statement inside a ``BEGIN IMMEDIATE`` transaction, so concurrent
        reservations can never overspend a limit.
        """
        params = asdict(request) | {"counts_for_guild": int(request.counts_for_guild)}
        rows = await self._db.write(_RESERVE + " RETURNING id", params)
        if rows:
            return int(rows[0][0])
        usage = await self.usage(request.guild_id, request.user_id, request.usage_day)
        user_full = request.user_limit is not None and usage.user_used + request.images > request.user_limit
        blocked: Blocked = "quota_user" if user_full else "quota_guild"
        await self._db.write(_REFUSE, params | {"outcome": blocked})
        return Refused(blocked, usage)

    async def settle(self, generation_id: int, *, now: int, duration_ms: int) -> bool:
        """Mark a reservation delivered: its images stay counted. False if it was not open any more."""
        rows = await self._db.write(
            "UPDATE generations SET state = 'delivered', outcome = 'delivered', finished_at = ?, duration_ms = ?,"
            " expires_at = NULL WHERE id = ? AND state = 'reserved' RETURNING id",
            (now, duration_ms, generation_id),
        )
        return bool(rows)

    async def release(self, generation_id: int, *, now: int, outcome: str) -> bool:
        """Give a reservation's images back (nothing was delivered). False if it was not open any more."""
        rows = await self._db.write(
            "UPDATE generations SET state = 'released', outcome = ?, finished_at = ?, expires_at = NULL"
            " WHERE id = ? AND state = 'reserved' RETURNING id",
            (outcome, now, generation_id),
        )
        return bool(rows)

    async def release_open(self, *, now: int, expired_only: bool) -> int:
        """Release reservations left open by a crash (all of them at start-up, else only expired ones)."""
        rows = await self._db.write(
            "UPDATE generations SET state = 'released', outcome = 'abandoned', finished_at = :now, expires_at = NULL"
            " WHERE state = 'reserved' AND (:all OR expires_at <= :now) RETURNING id",
            {"now": now, "all": int(not expired_only)},
        )
        return len(rows)

    async def usage(self, guild_id: int, user_id: int, usage_day: str) -> Usage:
        """The member's and the guild's usage on ``usage_day``."""
        params = {"guild_id": guild_id, "user_id": user_id, "usage_day": usage_day}
        row = await self._db.fetchone(f"SELECT ({_USER_USED}), ({_GUILD_USED})", params)
        return Usage(user_used=int(row[0]), guild_used=int(row[1])) if row else Usage(0, 0)

    async def forgive_day(self, guild_id: int, user_id: int, usage_day: str, *, now: int) -> int:
        """Stop counting the member's delivered images of ``usage_day``; returns how many images were forgiven."""
        rows = await self._db.write(
            "UPDATE generations SET forgiven_at = ? WHERE guild_id = ? AND user_id = ? AND usage_day = ?"
            " AND state = 'delivered' AND forgiven_at IS NULL RETURNING images",
            (now, guild_id, user_id, usage_day),
        )
        return sum(int(row[0]) for row in rows)
