"""Moderation records: settings, thresholds, blocklist entries, refusals (strikes), appeals and suspensions."""

import json
from dataclasses import dataclass
from typing import Any, Literal

import aiosqlite

from storage.database import Database

Layer = Literal["blocklist", "endpoint", "provider", "output"]
AppealState = Literal["pending", "approved", "denied"]
SETTING_COLUMNS = frozenset(
    {
        "modlog_channel_id",
        "output_check",
        "default_blocklist",
        "strike_limit",
        "strike_window_hours",
        "suspension_hours",
    }
)


@dataclass(frozen=True)
class ModerationSettings:
    """A guild's moderation settings (defaults where it has none)."""

    modlog_channel_id: int | None = None
    output_check: bool = True
    default_blocklist: bool = True
    strike_limit: int = 3
    strike_window_hours: int = 24
    suspension_hours: int = 24


@dataclass(frozen=True)
class Refusal:
    """One refusal as recorded."""

    id: int
    guild_id: int
    channel_id: int
    user_id: int
    layer: Layer
    findings: dict[str, Any]
    prompt: str
    options: dict[str, Any]
    created_at: int


@dataclass(frozen=True)
class Appeal:
    """One appeal against a refusal."""

    id: int
    refusal_id: int
    guild_id: int
    user_id: int
    state: AppealState


def _refusal(row: Any) -> Refusal:
    return Refusal(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        user_id=row["user_id"],
        layer=row["layer"],
        findings=json.loads(row["findings"]),
        prompt=row["prompt"],
        options=json.loads(row["options"]),
        created_at=row["created_at"],
    )


async def _strike_count(conn: aiosqlite.Connection, guild_id: int, user_id: int, since: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM moderation_refusals WHERE guild_id = ? AND user_id = ? AND created_at > ?"
        " AND strike = 1 AND pardoned_at IS NULL",
        (guild_id, user_id, since),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def _appeal(row: Any) -> Appeal:
    return Appeal(row["id"], row["refusal_id"], row["guild_id"], row["user_id"], row["state"])


class ModerationRepository:
    """Intention-revealing access to the moderation tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # -- settings ----------------------------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> ModerationSettings:
        """The guild's settings, defaults included."""
        row = await self._db.fetchone(
            "SELECT modlog_channel_id, output_check, default_blocklist, strike_limit, strike_window_hours,"
            " suspension_hours FROM moderation_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return ModerationSettings()
        return ModerationSettings(
            modlog_channel_id=row[0],
            output_check=bool(row[1]),
            default_blocklist=bool(row[2]),
            strike_limit=row[3],
            strike_window_hours=row[4],
            suspension_hours=row[5],
        )

    async def update_settings(self, guild_id: int, **values: int | bool | None) -> None:
        """Change some settings (column names from ``SETTING_COLUMNS``)."""
        unknown = set(values) - SETTING_COLUMNS
        if unknown:
            raise ValueError(f"unknown moderation settings: {sorted(unknown)}")
        columns = sorted(values)
        # Column names come from the fixed SETTING_COLUMNS set above, never from users; values are bound.
        assignments = ", ".join(f"{column} = excluded.{column}" for column in columns)
        await self._db.write(
            f"INSERT INTO moderation_settings (guild_id, {', '.join(columns)})"  # noqa: S608
            f" VALUES (?, {', '.join('?' for _ in columns)})"
            f" ON CONFLICT (guild_id) DO UPDATE SET {assignments}",
            (guild_id, *(int(v) if isinstance(v, bool) else v for v in (values[c] for c in columns))),
        )

    async def note_modlog_problem(self, guild_id: int, problem: str) -> bool:
        """Remember why the mod-log failed; True if this is news (so it is logged once, not per refusal)."""
        rows = await self._db.write(
            "INSERT INTO moderation_settings (guild_id, modlog_problem, modlog_problem_reported) VALUES (?, ?, 0)"
            " ON CONFLICT (guild_id) DO UPDATE SET modlog_problem = excluded.modlog_problem,"
            " modlog_problem_reported = 0 WHERE modlog_problem IS NOT excluded.modlog_problem RETURNING guild_id",
            (guild_id, problem),
        )
        return bool(rows)

    async def take_unreported_modlog_problem(self, guild_id: int) -> str | None:
        """The mod-log problem an admin has not been told about yet, marking it told."""
        rows = await self._db.write(
            "UPDATE moderation_settings SET modlog_problem_reported = 1"
            " WHERE guild_id = ? AND modlog_problem IS NOT NULL AND modlog_problem_reported = 0"
            " RETURNING modlog_problem",
            (guild_id,),
        )
        return rows[0][0] if rows else None

    async def clear_modlog_problem(self, guild_id: int) -> None:
        """The mod-log works (again)."""
        await self._db.write(
            "UPDATE moderation_settings SET modlog_problem = NULL, modlog_problem_reported = 0 WHERE guild_id = ?"
            " AND modlog_problem IS NOT NULL",
            (guild_id,),
        )

    # -- thresholds and blocklist -------------------------------------------------------------------------------

    async def thresholds(self, guild_id: int) -> dict[str, float]:
        """The guild's own thresholds by category."""
        rows = await self._db.fetchall(
            "SELECT category, block_at FROM moderation_thresholds WHERE guild_id = ?", (guild_id,)
        )
        return {row[0]: row[1] for row in rows}

    async def set_threshold(self, guild_id: int, category: str, block_at: float | None) -> None:
        """Set a category's threshold, or remove it (``None``) to use the default."""
        if block_at is None:
            await self._db.write(
                "DELETE FROM moderation_thresholds WHERE guild_id = ? AND category = ?", (guild_id, category)
            )
        else:
            await self._db.write(
                "INSERT INTO moderation_thresholds (guild_id, category, block_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id, category) DO UPDATE SET block_at = excluded.block_at",
                (guild_id, category, block_at),
            )

    async def blocklist(self, guild_id: int) -> list[tuple[str, str]]:
        """The guild's own entries as (kind, pattern), oldest first."""
        rows = await self._db.fetchall(
            "SELECT kind, pattern FROM blocklist_entries WHERE guild_id = ? ORDER BY added_at, pattern", (guild_id,)
        )
        return [(row[0], row[1]) for row in rows]

    async def add_blocklist_entry(self, guild_id: int, kind: str, pattern: str, *, added_by: int, now: int) -> bool:
        """Add an entry; False if it was there already."""
        rows = await self._db.write(
            "INSERT INTO blocklist_entries (guild_id, kind, pattern, added_by, added_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING pattern",
            (guild_id, kind, pattern, added_by, now),
        )
        return bool(rows)

    async def remove_blocklist_entry(self, guild_id: int, pattern: str) -> bool:
        """Remove an entry (of either kind); False if there was none."""
        rows = await self._db.write(
            "DELETE FROM blocklist_entries WHERE guild_id = ? AND pattern = ? RETURNING pattern", (guild_id, pattern)
        )
        return bool(rows)

    async def clear_blocklist(self, guild_id: int) -> int:
        """Remove every entry of the guild's own; returns how many."""
        return len(await self._db.write("DELETE FROM blocklist_entries WHERE guild_id = ? RETURNING 1", (guild_id,)))

    # -- refusals, strikes and suspensions ---------------------------------------------------------------------

    async def record_refusal(
        self,
        *,
        guild_id: int,
        channel_id: int,
        user_id: int,
        layer: Layer,
        findings: dict[str, Any],
        prompt: str,
        options: dict[str, Any],
        strike: bool,
        now: int,
        settings: ModerationSettings,
    ) -> tuple[int, int | None]:
        """Record a refusal and, if it is a ``strike`` that makes ``strike_limit`` within the window, suspend.

        Returns the refusal's id and, when this refusal triggered a suspension, its end. One transaction, so two
        refusals at once cannot both miss (or both create) the suspension.
        """
        since = now - settings.strike_window_hours * 3600
        async with self._db.transaction() as conn:
            async with conn.execute(
                "INSERT INTO moderation_refusals (guild_id, channel_id, user_id, layer, findings, prompt, options,"
                " strike, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (guild_id, channel_id, user_id, layer, json.dumps(findings), prompt, json.dumps(options), strike, now),
            ) as cursor:
                (refusal_id,) = await cursor.fetchone()  # type: ignore[misc]
            if not strike:
                return refusal_id, None
            strikes = await _strike_count(conn, guild_id, user_id, since)
            if strikes < settings.strike_limit:
                return refusal_id, None
            until = now + settings.suspension_hours * 3600
            async with conn.execute(
                "INSERT INTO moderation_suspensions (guild_id, user_id, until, reason, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE"
                " SET until = excluded.until, reason = excluded.reason, suspended_by = NULL,"
                " created_at = excluded.created_at WHERE until < excluded.until RETURNING until",
                (guild_id, user_id, until, f"{strikes} refusals in {settings.strike_window_hours} h", now),
            ) as cursor:
                row = await cursor.fetchone()
            return refusal_id, (row[0] if row else None)

    async def refusal(self, refusal_id: int) -> Refusal | None:
        """One refusal by id."""
        row = await self._db.fetchone("SELECT * FROM moderation_refusals WHERE id = ?", (refusal_id,))
        return _refusal(row) if row else None

    async def strikes(self, guild_id: int, *, since: int, user_id: int | None = None, limit: int = 25) -> list[Refusal]:
        """Unpardoned refusals since ``since``, newest first, for one member or the whole guild."""
        rows = await self._db.fetchall(
            "SELECT * FROM moderation_refusals WHERE guild_id = ? AND created_at > ? AND strike = 1"
            " AND pardoned_at IS NULL AND (? IS NULL OR user_id = ?) ORDER BY id DESC LIMIT ?",
            (guild_id, since, user_id, user_id, limit),
        )
        return [_refusal(row) for row in rows]

    async def pardon(self, guild_id: int, user_id: int, *, by: int, now: int) -> int:
        """Pardon all of a member's strikes; returns how many."""
        rows = await self._db.write(
            "UPDATE moderation_refusals SET pardoned_at = ?, pardoned_by = ?"
            " WHERE guild_id = ? AND user_id = ? AND pardoned_at IS NULL RETURNING id",
            (now, by, guild_id, user_id),
        )
        return len(rows)

    async def pardon_refusal(self, refusal: Refusal, *, by: int, now: int, settings: ModerationSettings) -> None:
        """Overturn one refusal (an approved appeal): no longer a strike, and an automatic suspension that no
        longer has enough strikes behind it is lifted. One transaction."""
        since = now - settings.strike_window_hours * 3600
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE moderation_refusals SET pardoned_at = ?, pardoned_by = ? WHERE id = ? AND pardoned_at IS NULL",
                (now, by, refusal.id),
            )
            if await _strike_count(conn, refusal.guild_id, refusal.user_id, since) < settings.strike_limit:
                await conn.execute(
                    "DELETE FROM moderation_suspensions WHERE guild_id = ? AND user_id = ? AND suspended_by IS NULL",
                    (refusal.guild_id, refusal.user_id),
                )

    async def suspensions(self, guild_id: int, *, now: int) -> dict[int, int]:
        """The guild's members suspended now, each with when their suspension ends."""
        rows = await self._db.fetchall(
            "SELECT user_id, until FROM moderation_suspensions WHERE guild_id = ? AND until > ?", (guild_id, now)
        )
        return {row[0]: row[1] for row in rows}

    async def suspend(self, guild_id: int, user_id: int, *, until: int, reason: str, by: int, now: int) -> None:
        """Suspend a member until ``until`` (replacing any current suspension)."""
        await self._db.write(
            "INSERT INTO moderation_suspensions (guild_id, user_id, until, reason, suspended_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET until = excluded.until,"
            " reason = excluded.reason, suspended_by = excluded.suspended_by, created_at = excluded.created_at",
            (guild_id, user_id, until, reason, by, now),
        )

    async def unsuspend(self, guild_id: int, user_id: int, *, now: int) -> bool:
        """Lift a member's current suspension; False if there was none."""
        rows = await self._db.write(
            "DELETE FROM moderation_suspensions WHERE guild_id = ? AND user_id = ? AND until > ? RETURNING 1",
            (guild_id, user_id, now),
        )
        return bool(rows)

    # -- appeals -----------------------------------------------------------------------------------------------

    async def create_appeal(
        self, refusal: Refusal, *, now: int, day_start: int, per_day: int
    ) -> Appeal | Literal["already", "limit"]:
        """Open an appeal against ``refusal`` unless it has one, or the member used their appeals for today."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT count(*) FROM moderation_appeals WHERE guild_id = ? AND user_id = ? AND created_at >= ?",
                (refusal.guild_id, refusal.user_id, day_start),
            ) as cursor:
                (today,) = await cursor.fetchone()  # type: ignore[misc]
            async with conn.execute(
                "INSERT INTO moderation_appeals (refusal_id, guild_id, user_id, state, created_at)"
                " SELECT ?, ?, ?, 'pending', ? WHERE ? < ? ON CONFLICT (refusal_id) DO NOTHING RETURNING *",
                (refusal.id, refusal.guild_id, refusal.user_id, now, today, per_day),
            ) as cursor:
                row = await cursor.fetchone()
        if row is not None:
            return _appeal(row)
        return "limit" if today >= per_day else "already"

    async def appeal(self, appeal_id: int) -> Appeal | None:
        """One appeal by id."""
        row = await self._db.fetchone("SELECT * FROM moderation_appeals WHERE id = ?", (appeal_id,))
        return _appeal(row) if row else None

    async def withdraw_appeal(self, appeal_id: int) -> None:
        """Remove an appeal that never reached the moderators (it does not count against the member's day)."""
        await self._db.write("DELETE FROM moderation_appeals WHERE id = ? AND state = 'pending'", (appeal_id,))

    async def decide_appeal(self, appeal_id: int, state: AppealState, *, by: int, now: int) -> Appeal | None:
        """Approve or deny a pending appeal; ``None`` if it was already decided (two moderators at once)."""
        rows = await self._db.write(
            "UPDATE moderation_appeals SET state = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ? AND state = 'pending' RETURNING *",
            (state, by, now, appeal_id),
        )
        return _appeal(rows[0]) if rows else None
