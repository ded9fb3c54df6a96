"""Dead letters: messages a handler kept failing on, kept for operators.

A message is dead-lettered into `<queue>.dead` once its handler failed on it
`delivery_limit` times, or (RabbitMQ) once it was delivered `crash_limit` times
in all, whatever ended the deliveries (bus/). `DeadLetterMover` (the
`dead_letters` role, beside the orchestrator) moves them into the `dead_letters`
table with where each was first published; operators list them and re-drive
them (`redrive`), which publishes the same envelope, under the same
`message_id`, through the outbox: the original outbox row is marked unpublished
again, or, for a reply that never had one (adapters publish replies directly), a
row is added. A re-drive is written to the birth's history with the operator's
name.

Moving is at least once: a batch leaves the broker only once it is stored
(`take_dead_letters`); a message stored before a crash that kept it on the broker
is not stored twice (`(queue, message_id)` is unique); one that dies again
after a re-drive counts another death and waits again.
"""

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bus.base import DeadLetter, ManagedTransport
from bus.topology import (
    COMMANDS_EXCHANGE,
    ORCHESTRATOR_QUEUE,
    RESULTS_EXCHANGE,
    department_queue,
)
from contracts.catalogue import BUILTIN_DEPARTMENTS
from contracts.commands import action_of, routing_key
from contracts.envelope import Envelope
from contracts.replies import REPLY_TYPES
from gateway import metrics
from gateway.clock import Clock
from gateway.store.db import Database
from gateway.store.tables import Birth, DeadLetterRow, HistoryRow, OutboxRow, StepRow

log = structlog.get_logger()

OUTCOME_OF_TYPE = {kind: outcome for outcome, kind in REPLY_TYPES.items()}


class DeadLetterMover:
    """Moves dead letters from the broker into the table, every `interval_s`;
    while none come the wait doubles up to `max_wait_s` (an idle system does
    not poll fast)."""

    def __init__(
        self,
        db: Database,
        transport: ManagedTransport,
        clock: Clock,
        *,
        departments: Iterable[str] = BUILTIN_DEPARTMENTS,
        result_queues: Iterable[str] = (ORCHESTRATOR_QUEUE,),
        interval_s: float = 5.0,
        max_wait_s: float = 60.0,
    ) -> None:
        self.db, self.transport, self.clock = db, transport, clock
        self.queues = (*result_queues, *(department_queue(d) for d in departments))
        self.interval_s, self.max_wait_s = interval_s, max(max_wait_s, interval_s)

    async def move_once(self) -> int:
        """Move what is dead-lettered now; return how many messages were taken.

        Queue by queue: one that cannot be moved (the store refuses, a message
        under a bus key no longer in the ring) does not hold back the others;
        the first such error is raised once every queue has been tried."""
        taken, failure = 0, None
        for queue in self.queues:
            try:
                taken += await self.transport.take_dead_letters(queue, partial(self._store, queue))
            except Exception as exc:  # noqa: BLE001 -- raised below, once all were tried
                log.warning("dead_letters.queue_failed", queue=queue, error=type(exc).__name__)
                failure = failure or exc
        if failure is not None:
            raise failure
        return taken

    async def run(self) -> None:
        """Move until cancelled."""
        wait = self.interval_s
        while True:
            try:
                taken = await self.move_once()
            except Exception:  # the broker or the store is away: try again later
                log.exception("dead_letters.move_failed")
                taken = 0
            wait = self.interval_s if taken else min(wait * 2, self.max_wait_s)
            await asyncio.sleep(wait)

    async def _store(self, queue: str, letters: Sequence[DeadLetter]) -> None:
        now = self.clock.now()
        async with self.db.write() as session:
            for envelope, exchange, routing_key in letters:
                row = await session.scalar(
                    select(DeadLetterRow).where(
                        DeadLetterRow.queue == queue,
                        DeadLetterRow.message_id == envelope.message_id,
                    )
                )
                if row is None:
                    session.add(
                        DeadLetterRow(
                            queue=queue,
                            message_id=envelope.message_id,
                            type=envelope.type,
                            birth_id=envelope.birth_id,
                            step=envelope.step,
                            envelope=envelope.model_dump(mode="json"),
                            exchange=exchange,
                            routing_key=routing_key,
                            deaths=1,
                            dead_at=now,
                        )
                    )
                elif row.redriven_at is not None:  # re-driven, and dead again
                    row.deaths += 1
                    row.dead_at, row.redriven_at, row.redriven_by = now, None, None
                else:
                    continue
                metrics.DEAD_LETTERS_MOVED.labels(queue).inc()
                log.error(
                    "dead_letters.stored",
                    queue=queue,
                    message_id=envelope.message_id,
                    type=envelope.type,
                    birth_id=envelope.birth_id,
                )


async def list_dead_letters(
    db: Database, *, waiting_only: bool = True, birth_id: str | None = None
) -> list[DeadLetterRow]:
    """Dead letters, oldest first; by default only those not re-driven yet."""
    query = select(DeadLetterRow).order_by(DeadLetterRow.id)
    if waiting_only:
        query = query.where(DeadLetterRow.redriven_at.is_(None))
    if birth_id:
        query = query.where(DeadLetterRow.birth_id == birth_id)
    async with db.read() as session:
        return list((await session.scalars(query)).all())


async def redrive(
    db: Database, ids: Iterable[int] | None, *, actor: str, now: datetime
) -> list[DeadLetterRow]:
    """Re-drive the dead letters `ids` (None: every one waiting) through the
    outbox; return those re-driven (one already re-driven is left alone)."""
    async with db.write() as session:
        query = select(DeadLetterRow).where(DeadLetterRow.redriven_at.is_(None))
        if ids is not None:
            query = query.where(DeadLetterRow.id.in_(list(ids)))
        rows = list((await session.scalars(query.order_by(DeadLetterRow.id))).all())
        for row in rows:
            await _republish(session, row, now)
            row.redriven_at, row.redriven_by = now, actor
            await note_in_history(
                session,
                row.birth_id,
                actor=actor,
                step=row.step,
                detail=f"dead letter {row.type} re-driven to {row.queue}",
                now=now,
            )
            metrics.REDRIVES.labels(row.queue).inc()
    for row in rows:
        log.info("dead_letters.redriven", id=row.id, queue=row.queue, birth_id=row.birth_id)
    return rows


async def _republish(session: AsyncSession, row: DeadLetterRow, now: datetime) -> None:
    sent = await session.scalar(select(OutboxRow).where(OutboxRow.message_id == row.message_id))
    if sent is not None:
        sent.published_at = None
        return
    exchange, routing_key = row.exchange, row.routing_key
    if exchange is None or routing_key is None:  # the broker did not say (or an older row)
        exchange, routing_key = route_of(row.queue, Envelope.model_validate(row.envelope))
    session.add(
        OutboxRow(
            message_id=row.message_id,
            exchange=exchange,
            routing_key=routing_key,
            envelope=row.envelope,
            created_at=now,
        )
    )


def route_of(queue: str, envelope: Envelope) -> tuple[str, str]:
    """Where a message of `queue` is published so that it reaches `queue` again."""
    if queue.startswith(ORCHESTRATOR_QUEUE):  # the transport picks the birth's partition
        return RESULTS_EXCHANGE, f"redriven.{OUTCOME_OF_TYPE.get(envelope.type, 'redriven')}"
    department = queue.removeprefix(department_queue(""))
    return COMMANDS_EXCHANGE, routing_key(department, action_of(envelope))


async def note_in_history(
    session: AsyncSession,
    birth_id: str,
    *,
    actor: str,
    step: str | None,
    detail: str,
    now: datetime,
) -> None:
    """Append an operator's action to a birth's history, in the caller's
    transaction. The birth's version moves too, so a concurrent saga writer
    reloads (and numbers its own lines after this one)."""
    seq = await session.scalar(
        update(Birth)
        .where(Birth.id == birth_id)
        .values(history_seq=Birth.history_seq + 1, version=Birth.version + 1, updated_at=now)
        .returning(Birth.history_seq)
        .execution_options(synchronize_session=False)
    )
    if seq is None:
        return  # no such birth (a message about a birth that is gone)
    if step is not None:
        state = await session.scalar(
            select(StepRow.state).where(StepRow.birth_id == birth_id, StepRow.step == step)
        )
    else:
        state = await session.scalar(select(Birth.status).where(Birth.id == birth_id))
    session.add(
        HistoryRow(
            birth_id=birth_id,
            seq=seq,
            at=now,
            actor=actor,
            step=step,
            from_state=state,
            to_state=state or "unknown",
            detail=detail,
        )
    )
