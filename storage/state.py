"""Facts the bot keeps about itself between restarts."""

import secrets

from storage.database import Database

_SALT_KEY = "safety_salt"


def _tree_key(scope: str) -> str:
    return f"command_tree_hash:{scope}"


class BotStateRepository:
    """The command tree hash per registration scope, and the salt for pseudonymous user ids."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def command_tree_hash(self, scope: str) -> str | None:
        """The hash of the command tree last registered in ``scope`` ("global" or "guild:<id>")."""
        row = await self._db.fetchone("SELECT value FROM bot_state WHERE key = ?", (_tree_key(scope),))
        return row["value"] if row else None

    async def remember_command_tree_hash(self, scope: str, tree_hash: str) -> None:
        """Record that the tree with ``tree_hash`` is now registered in ``scope``."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_tree_key(scope), tree_hash),
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
