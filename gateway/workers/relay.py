"""The outbox relay: publishes committed messages, marks them after the confirm.

A round is one short transaction, then the broker: mark what the last round
saw confirmed and claim the next batch (`claimed_until`, a lease), commit,
publish the batch and await the confirms. No transaction or row lock is held
while the broker answers. Under load each round is one commit; when no round
follows within `mark_s`, the marks are committed alone. Several relays side by
side skip each other's claimed rows (and on PostgreSQL each other's claims in
flight, `SKIP LOCKED`); a relay that dies holding a lease leaves its rows to
the others once it passes. A crash between confirm and mark publishes a message
twice: consumers drop the second by `message_id`.

Woken right after a commit that wrote rows: in this process by `wake()`, on
PostgreSQL also by `LISTEN/NOTIFY` (a trigger on the outbox, migration 0006)
from any process; it waits `gather_s` more, so that the commits of those few
milliseconds share a round. Polling is only a slow sweep (`interval_s`) for
what a notification missed.
"""

import asyncio
import contextlib
from collections.abc import Sequence
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
        mark_s: float = 0.05,
        gather_s: float = 0.02,
    ) -> None:
        self.db, self.transport, self.clock = db, transport, clock
        self.batch, self.interval_s, self.retry_s = batch, interval_s, retry_s
        self.mark_s, self.gather_s = mark_s, gather_s
        self.lease = timedelta(seconds=lease_s)
        # Rows of the last round, confirmed (published) or not (released), to be
        # marked in the next round's transaction.
        self._published: list[int] = []
        self._released: list[int] = []
        self._wake = asyncio.Event()
        self._listening = False

    def wake(self) -> None:
        """A commit in this process wrote rows. While listening, the same commit's
        notification wakes the relay: a second wake-up would cost an empty round."""
        if not self._listening:
            self._wake.set()

    async def _claim(self, limit: int) -> list[Any]:
        """Mark the last round's rows and lease up to `limit` of the oldest rows
        nobody holds, in one transaction."""
        now = self.clock.now()
        marks: list[tuple[list[int], dict[str, Any]]] = [
            (self._published, {"published_at": now}),
            (self._released, {}),
        ]
        rows: Sequence[Any] = ()
        async with self.db.write(wake=False) as session:
            for ids, values in marks:
                if ids:
                    await session.execute(
                        update(OutboxRow)
                        .where(OutboxRow.id.in_(ids))
                        .values(claimed_until=None, **values)
                        .execution_options(synchronize_session=False)
                    )
            if limit:
                pending = claimable(now, limit)
                if not self.db.is_sqlite:
                    pending = pending.with_for_update(skip_locked=True)
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
        self._published, self._released = [], []
        return sorted(rows, key=lambda row: row.id)

    async def publish_once(self) -> int:
        """Publish one batch and mark it; return how many rows were published."""
        published = (await self.round())[0]
        await self.flush()
        return published

    async def flush(self) -> None:
        """Mark the last round's rows now."""
        if self._published or self._released:
            await self._claim(0)

    async def round(self) -> tuple[int, int]:
        """Mark the last round's rows, publish one batch; return how many rows
        were published and not. They are marked by the next round or `flush`."""
        rows = await self._claim(self.batch)
        if not rows:
            return 0, 0
        # Confirms pipelined; a row whose publish failed is released and tried again.
        outcomes = await self.transport.publish_many(
            Outgoing(Envelope.model_validate(row.envelope), row.exchange, row.routing_key)
            for row in rows
        )
        for row, error in zip(rows, outcomes, strict=True):
            if error:
                log.warning("relay.not_published", message_id=row.message_id, error=str(error))
                self._released.append(row.id)
            else:
                self._published.append(row.id)
        log.debug("relay.published", count=len(self._published))
        return len(self._published), len(self._released)

    async def run(self) -> None:
        """Publish until cancelled; between rounds wait for a wake-up (a commit
        here, a notification on PostgreSQL), the marks' delay or the slow sweep."""
        listener = None if self.db.is_sqlite else asyncio.create_task(self._listen())
        try:
            while True:
                self._wake.clear()
                try:
                    published, failed = await self.round()
                except Exception as exc:  # the broker or the database is away: try again soon
                    if store_unavailable(exc):
                        log.warning("relay.store_unavailable", error=type(exc).__name__)
                    else:
                        log.exception("relay.failed")
                    published, failed = 0, 1
                if failed:
                    await asyncio.sleep(self.retry_s)
                elif published < self.batch:
                    wait_s = self.mark_s if self._published else self.interval_s
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait_s)
                        # Let the commits of the next few ms share the round.
                        await asyncio.sleep(self.gather_s)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            with contextlib.suppress(Exception):  # else their leases pass: sent again
                await asyncio.shield(self.flush())

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
