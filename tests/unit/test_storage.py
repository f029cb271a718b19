"""Storage against real SQLite files: pragmas, migrations from every version, atomic state."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.database import Database, Migration, MigrationError, bundled_migrations, open_database
from storage.state import BotStateRepository
from tests.helpers import first_steps


async def test_a_new_database_gets_wal_and_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "bot.db"
    async with open_database(path) as db:
        assert await db.schema_version() == len(bundled_migrations())
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        assert (await db.fetchone("PRAGMA busy_timeout"))[0] == 5000
    assert path.exists()


@pytest.mark.parametrize("start", range(len(bundled_migrations())))
async def test_every_older_version_migrates_to_the_latest(tmp_path: Path, start: int) -> None:
    path = tmp_path / "bot.db"
    migrations = bundled_migrations()
    async with open_database(path, migrations[:start]) as db:
        assert await db.schema_version() == start
    async with open_database(path) as db:
        assert await db.schema_version() == len(migrations)


async def test_a_failing_migration_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    good = bundled_migrations()
    broken = Migration(len(good) + 1, "9999_broken.sql", "CREATE TABLE half_done (x INTEGER);\nNOT SQL;")
    with pytest.raises(MigrationError, match="9999_broken"):
        async with open_database(path, [*good, broken]):
            pass
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(good)
        assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None


async def test_a_database_from_a_newer_bot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 999")
    with pytest.raises(MigrationError, match="newer"):
        async with open_database(path):
            pass


async def test_the_safety_salt_is_made_once_even_under_concurrency(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with open_database(path) as db:
        state = BotStateRepository(db)
        salts = await asyncio.gather(*(state.safety_salt() for _ in range(50)))
        assert len(set(salts)) == 1
        assert len(salts[0]) == 32
    async with open_database(path) as db:
        assert await BotStateRepository(db).safety_salt() == salts[0]


async def test_command_registrations_are_kept_per_application_and_scope(tmp_path: Path) -> None:
    async with open_database(tmp_path / "bot.db") as db:
        state = BotStateRepository(db)
        assert await state.registered_hash(1, "global") is None
        assert await state.registered_scopes(1) == []
        await state.record_registration(1, "global", "aaa")
        await state.record_registration(1, "guild:5", "bbb")
        await state.record_registration(1, "global", "ccc")
        await state.record_registration(2, "global", "ddd")
        assert await state.registered_hash(1, "global") == "ccc"
        assert await state.registered_hash(1, "guild:5") == "bbb"
        assert sorted(await state.registered_scopes(1)) == ["global", "guild:5"]
        await state.forget_registration(1, "global")
        assert await state.registered_scopes(1) == ["guild:5"]
        assert await state.registered_hash(2, "global") == "ddd"


async def test_a_failed_transaction_rolls_back(tmp_path: Path) -> None:
    async def insert_then_fail(db: Database) -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO bot_state (key, value) VALUES ('k', 'v')")
            raise RuntimeError

    async with open_database(tmp_path / "bot.db") as db:
        with pytest.raises(RuntimeError):
            await insert_then_fail(db)
        assert await db.fetchone("SELECT value FROM bot_state WHERE key = 'k'") is None


async def test_nested_database_use_fails_fast_instead_of_deadlocking(tmp_path: Path) -> None:
    async def read_inside_transaction(db: Database) -> None:
        async with db.transaction():
            await db.fetchone("SELECT 1")

    async with open_database(tmp_path / "bot.db") as db:
        with pytest.raises(RuntimeError, match="nested database use"):
            await read_inside_transaction(db)
        assert (await db.fetchone("SELECT 1"))[0] == 1


async def test_data_survives_every_later_migration(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    migrations = bundled_migrations()
    async with open_database(path, migrations[:1]) as db:
        salt = await BotStateRepository(db).safety_salt()
        await BotStateRepository(db).record_registration(1, "global", "hash")
    async with open_database(path) as db:
        state = BotStateRepository(db)
        assert await state.safety_salt() == salt
        assert await state.registered_hash(1, "global") == "hash"
        tables = {row[0] for row in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"bot_state", "command_registrations", "generations", "quota_limits", "quota_admin_changes"} <= tables


async def test_group_committed_writes_fail_alone(tmp_path: Path) -> None:
    async with open_database(tmp_path / "bot.db") as db:
        good = db.write("INSERT INTO bot_state (key, value) VALUES ('a', '1') RETURNING key")
        bad = db.write("INSERT INTO bot_state (key, value) VALUES ('b', NULL)")  # NOT NULL violation
        also_good = db.write("INSERT INTO bot_state (key, value) VALUES ('c', '3') RETURNING key")
        results = await asyncio.gather(good, bad, also_good, return_exceptions=True)
        assert [row[0] for row in results[0]] == ["a"]
        assert isinstance(results[1], sqlite3.IntegrityError)
        assert [row[0] for row in results[2]] == ["c"]
        keys = [row[0] for row in await db.fetchall("SELECT key FROM bot_state ORDER BY key")]
    assert keys == ["a", "c"]


async def test_a_batch_whose_transaction_sqlite_rolled_back_never_reports_an_undone_write_as_done(
    tmp_path: Path,
) -> None:
    async with open_database(tmp_path / "bot.db") as db:
        async with db.transaction() as conn:
            # RAISE(ROLLBACK) undoes the whole transaction, as a full disk or an I/O error would.
            await conn.execute("CREATE TABLE doomed (x INTEGER) STRICT")
            await conn.execute(
                "CREATE TRIGGER doom BEFORE INSERT ON doomed BEGIN SELECT RAISE(ROLLBACK, 'disk full'); END"
            )
        results = await asyncio.gather(
            db.write("INSERT INTO bot_state (key, value) VALUES ('before', '1')"),
            db.write("INSERT INTO doomed (x) VALUES (1)"),
            db.write("INSERT INTO bot_state (key, value) VALUES ('after', '2')"),
            return_exceptions=True,
        )
        assert all(isinstance(r, sqlite3.Error) for r in results), results
        kept = {row[0] for row in await db.fetchall("SELECT key FROM bot_state")}
        assert "before" not in kept, "the rolled-back write is undone and was reported as failed"
        # A statement queued behind the failure may have run on its own; it was reported failed, which for every
        # write the bot makes errs on the safe side (an unconfirmed reservation only under-spends until it expires).
        assert kept <= {"after"}
        await db.write("INSERT INTO bot_state (key, value) VALUES ('later', '3')")
        assert "later" in {row[0] for row in await db.fetchall("SELECT key FROM bot_state")}, "it keeps working"


async def test_a_write_whose_caller_stops_waiting_still_commits(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with open_database(path) as db:
        write = db.write("INSERT INTO bot_state (key, value) VALUES ('settled', 'yes')")  # queued on the call
        write.cancel()
        with pytest.raises(asyncio.CancelledError):
            await write
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT value FROM bot_state WHERE key = 'settled'").fetchone() == ("yes",)


async def test_reads_and_transactions_see_every_write_queued_before_them(tmp_path: Path) -> None:
    async with open_database(tmp_path / "bot.db") as db:
        first = db.write("INSERT INTO bot_state (key, value) VALUES ('first', '1')")
        second = db.write("INSERT INTO bot_state (key, value) VALUES ('second', '2')")
        keys = {row[0] for row in await db.fetchall("SELECT key FROM bot_state")}
        assert {"first", "second"} <= keys, "queued before the read started, so committed before it ran"
        third = db.write("INSERT INTO bot_state (key, value) VALUES ('third', '3')")
        async with db.transaction() as conn, conn.execute("SELECT value FROM bot_state WHERE key = 'third'") as cursor:
            assert await cursor.fetchone() is not None, "a transaction too comes after the writes queued before it"
        await asyncio.gather(first, second, third)


async def test_reads_inside_a_transaction_fail_loudly_even_with_writes_queued(tmp_path: Path) -> None:
    async with open_database(tmp_path / "bot.db") as db:
        async with db.transaction():
            taken = asyncio.create_task(db_write_elsewhere(db, "taken"))
            await first_steps()  # the group commit has taken it and waits for this transaction to end
            queued = asyncio.create_task(db_write_elsewhere(db, "queued"))
            await first_steps()  # queued behind it
            async with asyncio.timeout(10):  # a guard: waiting for the queued write here would wait for ever
                with pytest.raises(RuntimeError, match="nested database use"):
                    await db.fetchall("SELECT 1")
                with pytest.raises(RuntimeError, match="nested database use"):
                    async with db.transaction():
                        pass
        await asyncio.gather(taken, queued)


async def db_write_elsewhere(db: Database, key: str) -> object:
    return await db.write("INSERT INTO bot_state (key, value) VALUES (?, '1')", (key,))


async def test_a_write_can_be_queued_from_a_plain_callback(tmp_path: Path) -> None:
    async with open_database(tmp_path / "bot.db") as db:
        loop = asyncio.get_running_loop()
        queued: asyncio.Future[asyncio.Future[object]] = loop.create_future()
        loop.call_soon(lambda: queued.set_result(db.write("INSERT INTO bot_state (key, value) VALUES ('cb', '1')")))
        await (await queued)
        assert [row[0] for row in await db.fetchall("SELECT key FROM bot_state WHERE key = 'cb'")] == ["cb"]


async def test_writes_after_close_and_inside_a_transaction_fail_loudly(tmp_path: Path) -> None:
    async with open_database(tmp_path / "bot.db") as db:
        with pytest.raises(RuntimeError, match="nested database use"):
            async with db.transaction():
                await db.write("INSERT INTO bot_state (key, value) VALUES ('x', 'y')")
    with pytest.raises(RuntimeError, match="closed"):
        await db.write("INSERT INTO bot_state (key, value) VALUES ('x', 'y')")
