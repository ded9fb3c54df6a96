"""The pruner: what is done does not stay forever. Published outbox rows and
old inbox rows are deleted once they are older than a window set in settings
(`outbox_keep`, `inbox_keep`), so that the store does not grow with the births
it has finished. Runs with the timers, every `interval_s`, in batches of
`batch` rows, each its own short transaction (no long lock on a big backlog).

The inbox window must outlast any redelivery of a message (a command's lease,
a department's callback retries): an id pruned sooner could be applied twice.
"""

import asyncio
from datetime import timedelta

import structlog
from sqlalchemy import ColumnElement, delete, select, tuple_

from gateway.clock import Clock
from gateway.store.db import Database
from gateway.store.tables import InboxRow, OutboxRow

log = structlog.get_logger()


class Pruner:
    """Deletes published outbox rows and inbox rows past their window."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        outbox_keep: timedelta,
        inbox_keep: timedelta,
        interval_s: float = 600.0,
        batch: int = 5000,
    ) -> None:
        self.db, self.clock = db, clock
        self.outbox_keep, self.inbox_keep, self.interval_s = outbox_keep, inbox_keep, interval_s
        self.batch = batch

    async def prune_once(self) -> tuple[int, int]:
        """Delete what is past its window; return (outbox rows, inbox rows) deleted."""
        now = self.clock.now()
        sent = select(OutboxRow.id).where(OutboxRow.published_at < now - self.outbox_keep)
        seen = select(InboxRow.consumer, InboxRow.message_id).where(
            InboxRow.received_at < now - self.inbox_keep
        )
        counts = (
            await self._delete(OutboxRow, OutboxRow.id.in_(sent.limit(self.batch))),
            await self._delete(
                InboxRow,
                tuple_(InboxRow.consumer, InboxRow.message_id).in_(seen.limit(self.batch)),
            ),
        )
        if any(counts):
            log.info("pruner.pruned", outbox=counts[0], inbox=counts[1])
        return counts

    async def _delete(self, table: type[OutboxRow | InboxRow], rows: ColumnElement[bool]) -> int:
        """Delete `rows` a batch per transaction until none is left; return how many."""
        deleted = 0
        while True:
            async with self.db.write(wake=False) as session:
                result = await session.execute(
                    delete(table).where(rows).execution_options(synchronize_session=False)
                )
            count: int = result.rowcount  # type: ignore[attr-defined]
            deleted += count
            if count < self.batch:
                return deleted

    async def run(self) -> None:
        """Prune until cancelled."""
        while True:
            try:
                await self.prune_once()
            except Exception:  # the store is away: try again later
                log.exception("pruner.failed")
            await asyncio.sleep(self.interval_s)
