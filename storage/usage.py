"""Quota usage: reservations that become deliveries or are released, one row per job in ``generations``.

The counters in ``daily_usage`` are kept by triggers in the same statement as each change (see migration 0002).
"""

from dataclasses import asdict, dataclass
from typing import Literal

from storage.database import Database

Blocked = Literal["quota_user", "quota_server"]

_USED = (
    "COALESCE((SELECT images FROM daily_usage"
    " WHERE guild_id = :guild_id AND usage_day = :usage_day AND user_id = {who}), 0)"
)
_USER_USED = _USED.format(who=":user_id")
_GUILD_USED = _USED.format(who="0")

# Deciding and recording happen in this one statement, inside the database's BEGIN IMMEDIATE transaction:
# nothing can change the counters between the check and the insert. RETURNING reports the usage the decision
# saw (it is computed before the AFTER INSERT trigger adds a reservation to the counters).
_RESERVE = f"""
    INSERT INTO generations (
        guild_id, channel_id, user_id, usage_day, images, counts_for_guild, state, outcome,
        model, size, input_images, prompt_hash, prompt, created_at, expires_at, finished_at
    )
    SELECT :guild_id, :channel_id, :user_id, :usage_day, :images, :counts_for_guild,
           CASE WHEN user_ok AND guild_ok THEN 'reserved' ELSE 'refused' END,
           CASE WHEN NOT user_ok THEN 'quota_user' WHEN NOT guild_ok THEN 'quota_server' END,
           :model, :size, :input_images, :prompt_hash, :prompt, :now,
           CASE WHEN user_ok AND guild_ok THEN :expires_at END,
           CASE WHEN user_ok AND guild_ok THEN NULL ELSE :now END
    FROM (
        SELECT (:user_limit IS NULL OR {_USER_USED} + :images <= :user_limit) AS user_ok,
               (:guild_limit IS NULL OR {_GUILD_USED} + :images <= :guild_limit) AS guild_ok
    )
    RETURNING id, outcome, {_USER_USED}, {_GUILD_USED}
"""  # noqa: S608 - composed only from the constants above; every value is a bound parameter


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
    input_images: int  # pictures sent with the prompt (a remix)
    prompt_hash: str
    prompt: str | None
    now: int
    expires_at: int


@dataclass(frozen=True)
class Usage:
    """Images counted on one day for one member and for their guild (open reservations included)."""

    user_used: int
    guild_used: int


@dataclass(frozen=True)
class Refused:
    """Which limit turned a reservation down, and the usage the decision saw."""

    blocked_by: Blocked
    usage: Usage


class UsageRepository:
    """Atomic reservations against daily limits, and their settlement."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def reserve(self, request: ReservationRequest) -> int | Refused:
        """Reserve the images if both limits allow it and return the reservation's id; else record the refusal."""
        params = asdict(request) | {"counts_for_guild": int(request.counts_for_guild)}
        ((generation_id, outcome, user_used, guild_used),) = await self._db.write(_RESERVE, params)
        if outcome is None:
            return int(generation_id)
        return Refused(outcome, Usage(int(user_used), int(guild_used)))

    async def settle(self, generation_id: int, *, now: int, duration_ms: int) -> bool:
        """Mark a reservation delivered: its images stay counted. False if it was not open any more."""
        rows = await self._db.write(
            "UPDATE generations SET state = 'delivered', outcome = 'delivered', finished_at = ?, duration_ms = ?,"
            " expires_at = NULL WHERE id = ? AND state = 'reserved' RETURNING id",
            (now, duration_ms, generation_id),
        )
        return bool(rows)

    async def release(self, generation_id: int, *, now: int, duration_ms: int, outcome: str) -> bool:
        """Give a reservation's images back (nothing was delivered). False if it was not open any more."""
        rows = await self._db.write(
            "UPDATE generations SET state = 'released', outcome = ?, finished_at = ?, duration_ms = ?,"
            " expires_at = NULL WHERE id = ? AND state = 'reserved' RETURNING id",
            (outcome, now, duration_ms, generation_id),
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
        row = await self._db.fetchone(f"SELECT {_USER_USED}, {_GUILD_USED}", params)
        return Usage(user_used=int(row[0]), guild_used=int(row[1])) if row else Usage(0, 0)
