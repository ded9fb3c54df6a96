"""A read sees the store at one moment: what a page shows from several
statements (a birth's row, then its steps) agrees even when a change commits
between them. On both stores."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError

from gateway.store.tables import OutboxRow
from tests.support.stack import KINDS, saga_store

pytestmark = pytest.mark.integration

COUNT = select(func.count()).select_from(OutboxRow)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_change_committed_during_a_read_does_not_show_in_it(
    kind: str, tmp_path: Path
) -> None:
    async with saga_store(kind, tmp_path) as db:
        row = {
            "message_id": "m1",
            "exchange": "birthlink.steps",
            "routing_key": "nhc",
            "envelope": {},
            "created_at": datetime.now(UTC),
        }
        async with db.read() as reading:
            assert await reading.scalar(COUNT) == 0
            async with db.write(wake=False) as writing:
                await writing.execute(insert(OutboxRow), [row])
            assert await reading.scalar(COUNT) == 0  # the moment it started at
        async with db.read() as later:
            assert await later.scalar(COUNT) == 1


async def test_a_read_on_postgresql_writes_nothing(tmp_path: Path) -> None:
    async with saga_store("rabbitmq-postgres", tmp_path) as db:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            async with db.read() as session:
                await session.execute(update(OutboxRow).values(routing_key="x"))
