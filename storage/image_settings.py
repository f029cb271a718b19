"""Per-server picture settings: the output format."""

from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class OutputRow:
    """A server's output format and compression (``None``: the provider's default)."""

    output_format: str
    output_compression: int | None


class ImageSettingsRepository:
    """Reads and changes a server's output format; every change is written together with its audit record."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def output(self, guild_id: int) -> OutputRow | None:
        """The server's output settings, or ``None`` if it never chose."""
        row = await self._db.fetchone(
            "SELECT output_format, output_compression FROM guild_output_settings WHERE guild_id = ?", (guild_id,)
        )
        return OutputRow(row["output_format"], row["output_compression"]) if row else None

    async def set_output(self, guild_id: int, row: OutputRow, *, actor_id: int, now: int) -> None:
        """Store the server's output settings and record who changed them, before and after, in one transaction."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT output_format, output_compression FROM guild_output_settings WHERE guild_id = ?", (guild_id,)
            ) as cursor:
                before = await cursor.fetchone()
            await conn.execute(
                "INSERT INTO guild_output_settings (guild_id, output_format, output_compression) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET output_format = excluded.output_format,"
                " output_compression = excluded.output_compression",
                (guild_id, row.output_format, row.output_compression),
            )
            await conn.execute(
                "INSERT INTO quota_admin_changes (guild_id, actor_id, action, old_value, new_value, created_at)"
                " VALUES (?, ?, 'set output format', ?, ?, ?)",
                (guild_id, actor_id, describe(OutputRow(*before) if before else None), describe(row), now),
            )


def describe(row: OutputRow | None) -> str:
    """A setting as the audit trail shows it."""
    if row is None:
        return "png (default)"
    if row.output_compression is None:
        return row.output_format
    return f"{row.output_format}, compression {row.output_compression}"
