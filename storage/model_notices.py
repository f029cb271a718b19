"""The model retirement notices already posted in servers' mod-logs."""

from storage.database import Database


class ModelNoticesRepository:
    """One row per server, model, shutdown date and notice, so no notice is posted twice."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim(self, guild_id: int, model: str, shutdown_date: str, days_before: int, *, now: int) -> bool:
        """Record a retirement notice as posted; ``False`` if it already was (by this or an earlier run)."""
        rows = await self._db.write(
            "INSERT INTO model_notices (guild_id, model, shutdown_date, days_before, posted_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING guild_id",
            (guild_id, model, shutdown_date, days_before, now),
        )
        return bool(rows)

    async def release(self, guild_id: int, model: str, shutdown_date: str, days_before: int) -> None:
        """Forget a claimed notice that could not be posted, so the next check tries again."""
        await self._db.write(
            "DELETE FROM model_notices WHERE guild_id = ? AND model = ? AND shutdown_date = ? AND days_before = ?",
            (guild_id, model, shutdown_date, days_before),
        )
