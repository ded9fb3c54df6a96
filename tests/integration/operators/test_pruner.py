"""What is done does not stay: published outbox rows and old inbox rows are
pruned after their window, on both stores; nothing still to send is touched."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.sealing import Keyring
from gateway.clock import ManualClock
from gateway.settings import DEV_DATA_KEYS
from gateway.store import crypto
from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.tables import InboxRow, OutboxRow
from gateway.workers.pruner import Pruner
from tests.support.stack import KINDS, saga_store, store_for

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind", KINDS)
async def test_published_outbox_and_old_inbox_rows_go_and_the_rest_stays(
    kind: str, tmp_path: Path
) -> None:
    async with store_for(kind, tmp_path) as (url, schema):
        db = Database(url, schema=schema)
        crypto.bind(db, Keyring.parse(DEV_DATA_KEYS))
        await migrate(db)
        week, hour = timedelta(days=8), timedelta(hours=1)
        async with db.write() as session:
            for message_id, created, published in (
                ("sent-long-ago", NOW - week, NOW - week),
                ("sent-just-now", NOW - week, NOW - hour),
                ("never-sent", NOW - week, None),  # the broker was away: still to send
            ):
                session.add(
                    OutboxRow(
                        message_id=message_id,
                        exchange="birthlink.commands",
                        routing_key="nhc.submit",
                        envelope={},
                        created_at=created,
                        published_at=published,
                    )
                )
            for message_id, received in (("old", NOW - 3 * week), ("recent", NOW - hour)):
                session.add(
                    InboxRow(consumer="orchestrator", message_id=message_id, received_at=received)
                )
        pruner = Pruner(
            db, ManualClock(NOW), outbox_keep=timedelta(days=7), inbox_keep=timedelta(days=14)
        )
        assert await pruner.prune_once() == (1, 1)
        assert await pruner.prune_once() == (0, 0)
        async with db.read() as session:
            outbox = set((await session.scalars(select(OutboxRow.message_id))).all())
            inbox = set((await session.scalars(select(InboxRow.message_id))).all())
        assert outbox == {"sent-just-now", "never-sent"}
        assert inbox == {"recent"}
        await db.dispose()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_backlog_goes_in_batches(kind: str, tmp_path: Path) -> None:
    async with saga_store(kind, tmp_path) as db:
        async with db.write() as session:
            for i in range(10):  # past the window, a minute apart
                at = NOW - timedelta(days=20, minutes=i)
                session.add(InboxRow(consumer="orchestrator", message_id=f"m{i}", received_at=at))
            session.add(InboxRow(consumer="orchestrator", message_id="recent", received_at=NOW))
        pruner = Pruner(
            db,
            ManualClock(NOW),
            outbox_keep=timedelta(days=7),
            inbox_keep=timedelta(days=14),
            batch=3,
        )
        assert await pruner.prune_once() == (0, 10)
        async with db.read() as session:
            assert (await session.scalars(select(InboxRow.message_id))).all() == ["recent"]
