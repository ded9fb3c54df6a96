"""The pruner: what is done does not stay forever. Published outbox rows and
old inbox rows are deleted once they are older than a window set in settings
(`outbox_keep`, `inbox_keep`), so that the store does not grow with the births
it has finished. Runs with the timers, every `interval_s`, in batches of
`batch` rows, each its own short transaction (no long lock on a big backlog).

The inbox window must outlast any redelivery of a message (a command's lease,
a department's callback retries): an id pruned sooner could be applied twice.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Delete, Select, and_, delete, select
from sqlalchemy.orm import InstrumentedAttribute

from gateway.clock import Clock
from gateway.store.db import Database
from gateway.store.tables import InboxRow, OutboxRow

log = structlog.get_logger()


def batch_end(column: InstrumentedAttribute[Any], cutoff: datetime, batch: int) -> Select[Any]:
    """The time of the `batch`-th oldest row past `cutoff` (None: fewer are left)."""
    return select(column).where(column < cutoff).order_by(column).offset(batch - 1).limit(1)


def older(column: InstrumentedAttribute[Any], cutoff: datetime, upto: datetime | None) -> Delete:
    """Delete the rows past `cutoff`, up to `upto` when a batch ends there."""
    bound = column < cutoff if upto is None else and_(column < cutoff, column <= upto)
    table = column.class_
    return delete(table).where(bound).execution_options(synchronize_session=False)


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
        counts = (
            await self._delete(OutboxRow.published_at, now - self.outbox_keep),
            await self._delete(InboxRow.received_at, now - self.inbox_keep),
        )
        if any(counts):
            log.info("pruner.pruned", outbox=counts[0], inbox=counts[1])
        return counts

    async def _delete(self, column: InstrumentedAttribute[Any], cutoff: datetime) -> int:
        """Delete rows older than `cutoff` about a batch per transaction (a range
        of the column's index each time); return how many."""
        deleted = 0
        while True:
            async with self.db.write(wake=False) as session:
                upto = await session.scalar(batch_end(column, cutoff, self.batch))
                result = await session.execute(older(column, cutoff, upto))
            count: int = result.rowcount  # type: ignore[attr-defined]
            deleted += count
            if upto is None:
                return deleted

    async def run(self) -> None:
        """Prune until cancelled."""
        while True:
            try:
                await self.prune_once()
            except Exception:  # the store is away: try again later
                log.exception("pruner.failed")
            await asyncio.sleep(self.interval_s)
