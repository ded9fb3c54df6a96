"""Schema migrations (Alembic), run by `birthlink migrate` and at start-up."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from gateway.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(db: Database) -> None:
    """Bring the schema to the newest revision (creating the PostgreSQL schema if asked)."""
    async with db.writer.begin() as conn:
        if db.schema and not db.is_sqlite:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
