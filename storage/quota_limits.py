"""What server admins do to quotas: per-guild overrides, usage resets, and the audit trail of every change."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from storage.database import Database

LimitKind = Literal["guild", "user_default", "role", "user", "exempt_role"]


@dataclass(frozen=True)
class LimitRow:
    """One override: ``daily_limit`` ``None`` means unlimited (for ``exempt_role``, always ``None``)."""

    kind: LimitKind
    target_id: int
    daily_limit: int | None


@dataclass(frozen=True)
class AdminChange:
    """One recorded admin action."""

    actor_id: int
    action: str
    target_id: int | None
    old_value: str | None
    new_value: str | None
    created_at: int


class QuotaLimitsRepository:
    """Reads and changes a guild's overrides; every change is written together with its audit record."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def overrides(self, guild_id: int) -> list[LimitRow]:
        """All of a guild's overrides."""
        rows = await self._db.fetchall(
            "SELECT kind, target_id, daily_limit FROM quota_limits WHERE guild_id = ? ORDER BY kind, target_id",
            (guild_id,),
        )
        return [LimitRow(row["kind"], row["target_id"], row["daily_limit"]) for row in rows]

    async def change(
        self,
        guild_id: int,
        kind: LimitKind,
        target_id: int,
        *,
        remove: bool,
        daily_limit: int | None,
        describe: Callable[[LimitRow | None], str],
        actor_id: int,
        action: str,
        now: int,
    ) -> None:
        """Set (or ``remove``) one override and record who did it, before and after, in one transaction.

        ``describe`` renders an override (``None``: none set) for the audit trail.
        """
        key = (guild_id, kind, target_id)
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT daily_limit FROM quota_limits WHERE guild_id = ? AND kind = ? AND target_id = ?", key
            ) as cursor:
                row = await cursor.fetchone()
            before = LimitRow(kind, target_id, row[0]) if row else None
            if remove:
                await conn.execute("DELETE FROM quota_limits WHERE guild_id = ? AND kind = ? AND target_id = ?", key)
            else:
                await conn.execute(
                    "INSERT INTO quota_limits (guild_id, kind, target_id, daily_limit) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (guild_id, kind, target_id) DO UPDATE SET daily_limit = excluded.daily_limit",
                    (*key, daily_limit),
                )
            after = None if remove else LimitRow(kind, target_id, daily_limit)
            await conn.execute(
                "INSERT INTO quota_admin_changes (guild_id, actor_id, action, target_id, old_value, new_value,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (guild_id, actor_id, action, target_id or None, describe(before), describe(after), now),
            )

    async def reset_usage(self, guild_id: int, user_id: int, usage_day: str, *, actor_id: int, now: int) -> int:
        """Stop counting the member's images of ``usage_day``, delivered or on their way, and record it; returns how
        many images. A picture may be on screen a moment before its delivery is recorded: it is forgiven too, and
        stays forgiven when it settles (or simply goes back if it fails)."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "UPDATE generations SET forgiven_at = ? WHERE guild_id = ? AND user_id = ? AND usage_day = ?"
                " AND state IN ('reserved', 'delivered') AND forgiven_at IS NULL RETURNING images",
                (now, guild_id, user_id, usage_day),
            ) as cursor:
                forgiven = sum(int(row[0]) for row in await cursor.fetchall())
            await conn.execute(
                "INSERT INTO quota_admin_changes (guild_id, actor_id, action, target_id, new_value, created_at)"
                " VALUES (?, ?, 'reset usage today', ?, ?, ?)",
                (guild_id, actor_id, user_id, f"{forgiven} image(s) forgiven", now),
            )
        return forgiven

    async def recent_changes(self, guild_id: int, limit: int) -> list[AdminChange]:
        """The guild's latest admin changes, newest first."""
        rows = await self._db.fetchall(
            "SELECT actor_id, action, target_id, old_value, new_value, created_at FROM quota_admin_changes"
            " WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [AdminChange(*tuple(row)) for row in rows]
