"""The outbox relay: publishes committed messages, marks them after the confirm.

A crash between confirm and mark publishes a message twice; consumers drop the
second by `message_id`. Several relays may run on PostgreSQL: each claims its
rows with `FOR UPDATE SKIP LOCKED`.
"""

import asyncio
import contextlib

import structlog
from sqlalchemy import select, update

from bus.base import ManagedTransport, Outgoing
from contracts.envelope import Envelope
from gateway.clock import Clock
from gateway.store.db import Database, store_unavailable
from gateway.store.tables import OutboxRow

log = structlog.get_logger()


class Relay:
    """Moves outbox rows to the transport; `wake()` after a commit that wrote some."""

    def __init__(
        self,
        db: Database,
        transport: ManagedTransport,
        clock: Clock,
        *,
        batch: int = 200,
        interval_s: float = 0.2,
    ) -> None:
        self.db, self.transport, self.clock = db, transport, clock
        self.batch, self.interval_s = batch, interval_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def publish_once(self) -> int:
        """Publish one batch; return how many rows were published."""
        async with self.db.write() as session:
            query = (
                select(OutboxRow)
                .where(OutboxRow.published_at.is_(None))
                .order_by(OutboxRow.id)
                .limit(self.batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.scalars(query)).all()
            if not rows:
                return 0
            # One batch, confirms pipelined; a row whose publish failed stays
            # unpublished and is tried again on the next round.
            outcomes = await self.transport.publish_many(
                Outgoing(Envelope.model_validate(row.envelope), row.exchange, row.routing_key)
                for row in rows
            )
            published = [row.id for row, error in zip(rows, outcomes, strict=True) if not error]
            for row, error in zip(rows, outcomes, strict=True):
                if error:
                    log.warning("relay.not_published", message_id=row.message_id, error=str(error))
            if published:
                await session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_(published))
                    .values(published_at=self.clock.now())
                )
        log.debug("relay.published", count=len(published))
        return len(published)

    async def run(self) -> None:
        """Publish until cancelled; wait for a wake-up or the interval when idle."""
        while True:
            try:
                published = await self.publish_once()
            except Exception as exc:  # the broker or the database is away: try again soon
                if store_unavailable(exc):
                    log.warning("relay.store_unavailable", error=type(exc).__name__)
                else:
                    log.exception("relay.failed")
                published = 0
            if published < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval_s)
                self._wake.clear()
