"""The migrations build exactly the schema that gateway/store/tables.py describes,
on SQLite and on PostgreSQL."""

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.tables import Base
from tests.support.stack import postgres_schema

pytestmark = pytest.mark.integration


def differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def check(db: Database) -> None:
    try:
        await migrate(db)
        await migrate(db)  # a second run is a no-op
        async with db.writer.connect() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await db.dispose()


async def test_migrations_match_the_tables_on_sqlite(tmp_path: Path) -> None:
    await check(Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"))


async def test_migrations_match_the_tables_on_postgresql() -> None:
    async with postgres_schema() as (dsn, schema):
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        await check(Database(url, schema=schema))
