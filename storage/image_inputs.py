"""The pictures remixes start from, kept by id (see migration 0006)."""

from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class StoredPicture:
    """One picture of a remix, as sent to the provider."""

    extension: str
    width: int
    height: int
    data: bytes


class ImageInputsRepository:
    """Saves a remix's pictures together, and reads them back for Reroll and approved appeals."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def save(self, *, guild_id: int, user_id: int, pictures: list[StoredPicture], now: int) -> int:
        """Store ``pictures`` in order as one set; returns its id."""
        async with self._db.transaction() as conn:
            async with conn.execute(
                "INSERT INTO image_inputs (guild_id, user_id, created_at) VALUES (?, ?, ?) RETURNING id",
                (guild_id, user_id, now),
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None  # noqa: S101 - INSERT … RETURNING always returns the row
            input_id = int(row[0])
            await conn.executemany(
                "INSERT INTO image_input_pictures (input_id, position, extension, width, height, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(input_id, n, p.extension, p.width, p.height, p.data) for n, p in enumerate(pictures)],
            )
        return input_id

    async def load(self, input_id: int) -> list[StoredPicture]:
        """The set's pictures in order (none if it was deleted)."""
        rows = await self._db.fetchall(
            "SELECT extension, width, height, data FROM image_input_pictures WHERE input_id = ? ORDER BY position",
            (input_id,),
        )
        return [StoredPicture(row["extension"], row["width"], row["height"], bytes(row["data"])) for row in rows]
