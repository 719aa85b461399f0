"""The two SQL drivers the catalogue runs on: PostgreSQL (asyncpg) and SQLite (aiosqlite).

The catalogue's SQL is written once, with `$n` placeholders and the dialect
both engines share; this module adapts placeholders and transactions. It must
never hold business logic: that lives in `catalogue.py`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import asyncpg

# The source tree's migrations/, else the copy an installed wheel carries in this package.
_TREE_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
MIGRATIONS = (
    _TREE_MIGRATIONS if any(_TREE_MIGRATIONS.glob("*.sql"))
    else Path(__file__).resolve().parent / "migrations"
)
_PLACEHOLDER = re.compile(r"\$(\d+)")

Row = Sequence[Any]


class CatalogueUnavailable(RuntimeError):
    """The catalogue database cannot be reached or refused the operation."""


class Session(Protocol):
    """One connection, inside or outside a transaction."""

    dialect: str

    async def execute(self, sql: str, *args: Any) -> None: ...
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...


class Driver(Protocol):
    dialect: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def transaction(self) -> Any: ...
    async def execute(self, sql: str, *args: Any) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...


class _SqliteSession:
    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(_PLACEHOLDER.sub(r"?\1", sql), args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.executemany(_PLACEHOLDER.sub(r"?\1", sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._conn.execute(_PLACEHOLDER.sub(r"?\1", sql), args) as cur:
            return list(await cur.fetchall())

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None


class SqliteDriver:
    """One connection, serialized by a lock: SQLite has one writer anyway."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA busy_timeout=5000")

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def _session(self) -> _SqliteSession:
        if self._conn is None:
            raise CatalogueUnavailable("the SQLite catalogue is not open")
        return _SqliteSession(self._conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteSession]:
        async with self._lock:
            session = self._session
            await session.execute("BEGIN IMMEDIATE")
            try:
                yield session
            except BaseException:
                await session.execute("ROLLBACK")
                raise
            await session.execute("COMMIT")

    async def execute(self, sql: str, *args: Any) -> None:
        async with self._lock:
            await self._session.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await self._session.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._lock:
            return await self._session.fetchrow(sql, *args)


class _PgSession:
    dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._conn.fetchrow(sql, *args)
        return row  # type: ignore[no-any-return]


class PostgresDriver:
    dialect = "postgresql"

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._min = min_size
        self._max = max_size

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self._min, max_size=self._max, command_timeout=30
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise CatalogueUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _require(self) -> asyncpg.Pool:
        if self._pool is None:
            raise CatalogueUnavailable("the PostgreSQL catalogue is not open")
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PgSession]:
        async with self._require().acquire() as conn, conn.transaction():
            yield _PgSession(conn)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._require().execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._require().fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._require().fetchrow(sql, *args)
        return row  # type: ignore[no-any-return]


def driver_for(url: str) -> Driver:
    if url.startswith("sqlite://"):
        # sqlite:///abs/path.db, sqlite://relative/path.db, sqlite://:memory:
        path = url[len("sqlite://") :]
        return SqliteDriver(":memory:" if path in ("/:memory:", ":memory:") else path)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDriver(url)
    raise ValueError(
        f"unsupported catalogue URL {url!r}: use sqlite:///path/to/file.db or postgresql://..."
    )


async def migrate(driver: Driver) -> list[int]:
    """Apply the numbered SQL files of `migrations/` that this database has not seen."""
    applied: list[int] = []
    files = sorted(MIGRATIONS.glob("*.sql"))
    if not files:
        raise CatalogueUnavailable(f"no catalogue migrations found in {MIGRATIONS}")
    async with driver.transaction() as tx:
        if tx.dialect == "postgresql":
            # Several agents may start at once against one fresh database.
            await tx.execute("SELECT pg_advisory_xact_lock(7281)")
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        done = {int(r[0]) for r in await tx.fetch("SELECT version FROM schema_migrations")}
        for path in files:
            version = int(path.name.split("_", 1)[0])
            if version in done:
                continue
            for statement in _statements(path.read_text()):
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, path.name
            )
            applied.append(version)
    return applied


def _statements(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
