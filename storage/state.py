"""Facts the bot keeps about itself between restarts."""

import secrets

from storage.database import Database

_SALT_KEY = "safety_salt"


class BotStateRepository:
    """What was registered with Discord per scope, and the salt for pseudonymous user ids."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def registered_hash(self, application_id: int, scope: str) -> str | None:
        """The payload hash last registered in ``scope`` ("global" or "guild:<id>"), if any."""
        row = await self._db.fetchone(
            "SELECT payload_hash FROM command_registrations WHERE application_id = ? AND scope = ?",
            (application_id, scope),
        )
        return row["payload_hash"] if row else None

    async def registered_scopes(self, application_id: int) -> list[str]:
        """Every scope the application has commands registered in, as far as we know."""
        rows = await self._db.fetchall(
            "SELECT scope FROM command_registrations WHERE application_id = ? ORDER BY scope", (application_id,)
        )
        return [row["scope"] for row in rows]

    async def record_registration(self, application_id: int, scope: str, payload_hash: str) -> None:
        """Record that the payload with ``payload_hash`` is now registered in ``scope``."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO command_registrations (application_id, scope, payload_hash) VALUES (?, ?, ?)"
                " ON CONFLICT (application_id, scope) DO UPDATE"
                " SET payload_hash = excluded.payload_hash, registered_at = excluded.registered_at",
                (application_id, scope, payload_hash),
            )

    async def forget_registration(self, application_id: int, scope: str) -> None:
        """Record that ``scope`` no longer has commands registered."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM command_registrations WHERE application_id = ? AND scope = ?", (application_id, scope)
            )

    async def safety_salt(self) -> bytes:
        """A random salt made on first use and kept forever, so hashed user ids stay stable across restarts."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (_SALT_KEY, secrets.token_hex(32)),
            )
            async with conn.execute("SELECT value FROM bot_state WHERE key = ?", (_SALT_KEY,)) as cursor:
                row = await cursor.fetchone()
        assert row is not None  # noqa: S101 - inserted just above in the same transaction
        return bytes.fromhex(row["value"])
