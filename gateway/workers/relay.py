"""The outbox relay: publishes committed messages, marks them after the confirm.

A round is two short transactions with the broker in between: claim a batch
(`claimed_until`, a lease) and commit, publish it and await the confirms, then
mark what was confirmed. No transaction or row lock is held while the broker
answers. Several relays side by side skip each other's claimed rows (and on
PostgreSQL each other's claims in flight, `SKIP LOCKED`); a relay that dies
holding a lease leaves its rows to the others once it passes. A crash between
confirm and mark publishes a message twice: consumers drop the second by
`message_id`.

Woken right after a commit that wrote rows: in this process by `wake()`, on
PostgreSQL also by `LISTEN/NOTIFY` (a trigger on the outbox, migration 0006)
from any process. Polling is only a slow sweep (`interval_s`) for what a
notification missed.
"""

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from sqlalchemy import Select, or_, select, update

from bus.base import ManagedTransport, Outgoing
from contracts.envelope import Envelope
from gateway.clock import Clock
from gateway.store.db import Database, store_unavailable
from gateway.store.tables import OutboxRow

log = structlog.get_logger()

CHANNEL = "birthlink_outbox"  # the payload is the outbox's schema


def claimable(now: datetime, limit: int) -> Select[Any]:
    """The oldest rows still to send that no relay holds (a partial index serves it)."""
    return (
        select(OutboxRow.id)
        .where(
            OutboxRow.published_at.is_(None),
            or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
        )
        .order_by(OutboxRow.id)
        .limit(limit)
    )


class Relay:
    """Moves outbox rows to the transport; `wake()` after a commit that wrote some."""

    def __init__(
        self,
        db: Database,
        transport: ManagedTransport,
        clock: Clock,
        *,
        batch: int = 200,
        interval_s: float = 5.0,
        lease_s: float = 30.0,
        retry_s: float = 1.0,
    ) -> None:
        self.db, self.transport, self.clock = db, transport, clock
        self.batch, self.interval_s, self.retry_s = batch, interval_s, retry_s
        self.lease = timedelta(seconds=lease_s)
        self._wake = asyncio.Event()
        self._listening = False

    def wake(self) -> None:
        """A commit in this process wrote rows. While listening, the same commit's
        notification wakes the relay: a second wake-up would cost an empty round."""
        if not self._listening:
            self._wake.set()

    async def _claim(self) -> list[Any]:
        """Lease the oldest rows nobody holds, in a transaction of their own."""
        now = self.clock.now()
        pending = claimable(now, self.batch)
        if not self.db.is_sqlite:
            pending = pending.with_for_update(skip_locked=True)
        async with self.db.write(wake=False) as session:
            rows = (
                await session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_(pending.scalar_subquery()))
                    .values(claimed_until=now + self.lease)
                    .returning(
                        OutboxRow.id,
                        OutboxRow.message_id,
                        OutboxRow.exchange,
                        OutboxRow.routing_key,
                        OutboxRow.envelope,
                    )
                    .execution_options(synchronize_session=False)
                )
            ).all()
        return sorted(rows, key=lambda row: row.id)

    async def publish_once(self) -> int:
        """Publish one batch; return how many rows were published."""
        return (await self._round())[0]

    async def _round(self) -> tuple[int, int]:
        """Publish one batch; return how many rows were published and not."""
        rows = await self._claim()
        if not rows:
            return 0, 0
        # Confirms pipelined; a row whose publish failed is released and tried again.
        outcomes = await self.transport.publish_many(
            Outgoing(Envelope.model_validate(row.envelope), row.exchange, row.routing_key)
            for row in rows
        )
        published = [row.id for row, error in zip(rows, outcomes, strict=True) if not error]
        failed = [row.id for row, error in zip(rows, outcomes, strict=True) if error]
        for row, error in zip(rows, outcomes, strict=True):
            if error:
                log.warning("relay.not_published", message_id=row.message_id, error=str(error))
        async with self.db.write(wake=False) as session:
            for ids, values in ((published, {"published_at": self.clock.now()}), (failed, {})):
                if ids:
                    await session.execute(
                        update(OutboxRow)
                        .where(OutboxRow.id.in_(ids))
                        .values(claimed_until=None, **values)
                        .execution_options(synchronize_session=False)
                    )
        log.debug("relay.published", count=len(published))
        return len(published), len(failed)

    async def run(self) -> None:
        """Publish until cancelled; between rounds wait for a wake-up (a commit
        here, a notification on PostgreSQL) or the slow sweep."""
        listener = None if self.db.is_sqlite else asyncio.create_task(self._listen())
        try:
            while True:
                self._wake.clear()
                try:
                    published, failed = await self._round()
                except Exception as exc:  # the broker or the database is away: try again soon
                    if store_unavailable(exc):
                        log.warning("relay.store_unavailable", error=type(exc).__name__)
                    else:
                        log.exception("relay.failed")
                    published, failed = 0, 1
                if failed:
                    await asyncio.sleep(self.retry_s)
                elif published < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.interval_s)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; reconnect when it drops."""
        dsn = self.db.writer.url.set(drivername="postgresql").render_as_string(hide_password=False)
        schema = self.db.schema or "public"

        def notified(*args: Any) -> None:
            if args[-1] == schema:
                self._wake.set()

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, notified)
                self._listening = True
                self._wake.set()  # what was committed while nobody listened
                await lost.wait()
                log.warning("relay.listen_lost")
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("relay.listen_failed", error=type(exc).__name__)
            finally:
                self._listening = False
                if conn is not None:
                    conn.terminate()  # at once, even while being cancelled
            await asyncio.sleep(self.interval_s)
