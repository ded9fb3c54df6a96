"""Engines and transactions: one code path for SQLite and PostgreSQL.

SQLite (the embedded default): WAL, `synchronous=FULL` (NORMAL can lose the last
commits on power loss), a busy timeout, and every write in `BEGIN IMMEDIATE` on
a single writer connection, so writers queue instead of failing with
"database is locked". Reads use their own pool and see the last commit (WAL).
PostgreSQL: one pool; `schema` puts everything in one schema (tests use a
schema each).
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# SQLSTATEs of a server that is not there for now: connection exceptions (08...),
# shutting down or starting up (57P01-57P03), out of connections (53300).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def store_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached now (it is down,
    restarting, or cut the connection), as opposed to refusing what was asked:
    the same work will succeed once it is back."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, ConnectionError):  # refused, reset
            return True
        # The driver's error: on itself, or kept by SQLAlchemy's wrapper.
        state = getattr(current, "sqlstate", None) or getattr(
            getattr(current, "orig", None), "sqlstate", None
        )
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        current = current.__cause__ or current.__context__
    return False


def _sqlite_engine(url: str, *, begin: str, **kwargs: Any) -> AsyncEngine:
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands so that we can say IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "busy_timeout=30000",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """The saga store's connections: `write()` and `read()` sessions."""

    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = 10) -> None:
        self.url = url
        self.schema = schema
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.writer = _sqlite_engine(
                url, begin="BEGIN IMMEDIATE", pool_size=1, max_overflow=0, pool_timeout=120
            )
            self.reader = _sqlite_engine(url, begin="BEGIN", pool_size=pool_size)
        else:
            connect_args: dict[str, Any] = {}
            if schema:
                connect_args["server_settings"] = {"search_path": schema}
            self.writer = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args
            )
            # Reads see one moment of the store: a birth's row and its steps read
            # by two statements agree even when a change commits between them
            # (READ COMMITTED gives each statement its own snapshot). Set at BEGIN
            # by the driver: no extra round trip.
            self.reader = self.writer.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        self._after_write: list[Callable[[], None]] = []
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)

    def after_write(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each write transaction commits in this process
        (the timers' sweeper looks again for a sooner due time)."""
        self._after_write.append(callback)

    @asynccontextmanager
    async def write(self, *, wake: bool = True) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed when the block ends.
        `wake=False`: bookkeeping that sets no timer (the relay, the pruner)."""
        async with self._write_sessions() as session, session.begin():
            yield session
        if wake:
            for callback in self._after_write:
                callback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading, in one snapshot of the store (a read-only
        transaction on PostgreSQL); nothing it does is committed."""
        async with self._read_sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise when the database cannot be reached."""
        async with self.read() as session:
            await session.connection()

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.is_sqlite:  # on PostgreSQL both share the writer's pool
            await self.reader.dispose()
