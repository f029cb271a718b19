"""Opening the SQLite database: pragmas, versioned migrations and serialised write transactions."""

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
)


class MigrationError(RuntimeError):
    """The database cannot be brought to the schema this code expects."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file from ``storage/migrations``."""

    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The migrations shipped with the package, in order, checked for gaps."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration numbers must run 1..N without gaps: {[m.name for m in found]}")
    return found


@dataclass
class _Write:
    sql: str
    params: Mapping[str, Any] | Sequence[Any]
    done: asyncio.Future[list[aiosqlite.Row]]


class Database:
    """One aiosqlite connection shared by the repositories.

    Multi-statement work goes through :meth:`transaction`; single statements through :meth:`write`, which groups
    statements that arrive together into one transaction (group commit): under a burst, one commit per statement
    would leave every job waiting in line for the connection.
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        # One connection serves every task, so statements from two tasks must never interleave.
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None
        self._queued: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        self._refuse_nested_use()
        task = asyncio.current_task()
        async with self._lock:
            self._holder = task
            try:
                yield
            finally:
                self._holder = None

    def _refuse_nested_use(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            raise RuntimeError("nested database use: inside transaction(), use the connection it yields")

    async def _after_queued_writes(self) -> None:
        """Wait until every write queued so far has committed or failed (a batch under way holds the connection, so
        only writes still queued need waiting for); nested use fails at once rather than waiting on itself."""
        self._refuse_nested_use()
        if self._queued:
            self._start_flushing()  # a group commit stopped by cancellation leaves its successors queued
            await asyncio.wait({self._queued[-1].done})

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error), one at a time across the process, after
        every write queued before it."""
        await self._after_queued_writes()
        async with self._exclusive():
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                await self._connection.rollback()
                raise
            await self._connection.commit()

    def write(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Awaitable[list[aiosqlite.Row]]:
        """Queue one write statement at once, in call order; awaiting the result gives the rows it ``RETURNING``s
        once they are committed. Queueing on the call, not on the first await, lets a caller put a write ahead of
        something it starts next without waiting for the commit.

        Statements queued while a commit is under way share the next ``BEGIN IMMEDIATE`` transaction. A statement
        that fails fails alone (SQLite undoes just that statement). If SQLite had to roll back the whole
        transaction (disk full, I/O error), every statement of the batch is reported failed: a write is never
        reported done unless it was committed (one queued behind the failure may still have run on its own, which
        errs on the safe side). Once queued, a write runs even if the caller stops waiting, so a settlement is never
        lost to a cancellation.
        """
        if self._closed:
            raise RuntimeError("the database is closed")
        self._refuse_nested_use()
        done: asyncio.Future[list[aiosqlite.Row]] = asyncio.get_running_loop().create_future()
        self._queued.append(_Write(sql, params, done))
        self._start_flushing()
        return asyncio.shield(done)

    def _start_flushing(self) -> None:
        if self._queued and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush(), name="database-group-commit")

    async def _flush(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                async with self._exclusive():
                    await self._commit_batch(batch)
            finally:
                for write in batch:  # whatever happened, nobody is left waiting
                    if not write.done.done():
                        write.done.set_exception(RuntimeError("the database write was interrupted"))

    async def _commit_batch(self, batch: list[_Write]) -> None:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` for the whole batch (or the statement itself, alone).

        A statement that fails fails alone (SQLite undoes just that statement); if SQLite rolled back the whole
        transaction (disk full, I/O error), the whole batch fails, since none of it can count as done.
        """
        connection = self._connection
        if len(batch) == 1:  # a statement alone is its own transaction (the connection autocommits)
            (write,) = batch
            try:
                write.done.set_result(list(await connection.execute_fetchall(write.sql, write.params)))
            except sqlite3.Error as exc:
                write.done.set_exception(exc)
            return
        outcomes: list[list[aiosqlite.Row] | sqlite3.Error] = []
        try:
            await connection.execute("BEGIN IMMEDIATE")
            try:
                for write in batch:
                    try:
                        outcomes.append(list(await connection.execute_fetchall(write.sql, write.params)))
                    except sqlite3.Error as exc:
                        outcomes.append(exc)
                failed = [outcome for outcome in outcomes if isinstance(outcome, sqlite3.Error)]
                if failed and not connection.in_transaction:
                    raise failed[0]
                await connection.commit()
            except BaseException:
                if connection.in_transaction:
                    await connection.rollback()
                raise
        except Exception as exc:
            log.error("A batch of %d database write(s) failed: %s", len(batch), exc)
            for write in batch:
                write.done.set_exception(exc)
            return
        for write, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, sqlite3.Error):
                write.done.set_exception(outcome)
            else:
                write.done.set_result(outcome)

    async def close(self) -> None:
        """Refuse new writes and wait until every queued one has been committed (or has failed)."""
        self._closed = True
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})

    async def fetchone(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> aiosqlite.Row | None:
        """The first row of a read-only query."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """All rows of a read-only query, which sees every write queued before it (committed or failed by then)."""
        await self._after_queued_writes()
        async with self._exclusive():
            return list(await self._connection.execute_fetchall(sql, params))

    async def schema_version(self) -> int:
        """``PRAGMA user_version``: the number of the last migration applied."""
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0


async def apply_migrations(connection: aiosqlite.Connection, migrations: list[Migration]) -> int:
    """Apply every migration newer than the database, each in its own transaction; returns the new version."""
    async with connection.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise MigrationError(f"database schema version {current} is newer than this code ({latest}); upgrade the bot")
    for migration in migrations:
        if migration.version <= current:
            continue
        # executescript runs the whole file; user_version moves in the same transaction as the schema.
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\nPRAGMA user_version = {migration.version};\nCOMMIT;"
        try:
            await connection.executescript(script)
        except aiosqlite.Error as exc:
            if connection.in_transaction:
                await connection.rollback()
            raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
        log.info("Applied database migration %s", migration.name)
        current = migration.version
    return current


@asynccontextmanager
async def open_database(path: Path, migrations: list[Migration] | None = None) -> AsyncIterator[Database]:
    """Open (creating if needed) and migrate the database at ``path``; closes it on exit."""
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    connection = await aiosqlite.connect(path, isolation_level=None)
    try:
        connection.row_factory = aiosqlite.Row
        for pragma in _PRAGMAS:
            await connection.execute(pragma)
        await apply_migrations(connection, bundled_migrations() if migrations is None else migrations)
        database = Database(connection)
        try:
            yield database
        finally:
            await database.close()
    finally:
        await connection.close()
