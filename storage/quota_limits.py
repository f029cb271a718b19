"""Per-guild quota settings chosen by admins, and the audit trail of every change."""

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
        actor_id: int,
        action: str,
        old_value: str,
        new_value: str,
        now: int,
    ) -> None:
        """Set (or ``remove``) one override and record who did it, in one transaction."""
        async with self._db.transaction() as conn:
            if remove:
                await conn.execute(
                    "DELETE FROM quota_limits WHERE guild_id = ? AND kind = ? AND target_id = ?",
                    (guild_id, kind, target_id),
                )
            else:
                await conn.execute(
                    "INSERT INTO quota_limits (guild_id, kind, target_id, daily_limit) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (guild_id, kind, target_id) DO UPDATE SET daily_limit = excluded.daily_limit",
                    (guild_id, kind, target_id, daily_limit),
                )
            await conn.execute(
                "INSERT INTO quota_admin_changes (guild_id, actor_id, action, target_id, old_value, new_value,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (guild_id, actor_id, action, target_id or None, old_value, new_value, now),
            )

    async def record_change(
        self, guild_id: int, *, actor_id: int, action: str, target_id: int | None, new_value: str, now: int
    ) -> None:
        """Record an admin action that is not a limit change (such as resetting a member's usage)."""
        await self._db.write(
            "INSERT INTO quota_admin_changes (guild_id, actor_id, action, target_id, new_value, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, actor_id, action, target_id, new_value, now),
        )

    async def recent_changes(self, guild_id: int, limit: int) -> list[AdminChange]:
        """The guild's latest admin changes, newest first."""
        rows = await self._db.fetchall(
            "SELECT actor_id, action, target_id, old_value, new_value, created_at FROM quota_admin_changes"
            " WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [AdminChange(*tuple(row)) for row in rows]
