"""The orchestrator: applies replies, callbacks and timer visits to sagas.

Every change is one transaction: inbox row (when a message caused it), the
saga's new state, its history and its outgoing commands (outbox). A concurrent
writer on the same birth is detected by the version check; the change is then
re-decided on fresh state.
"""

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import Envelope
from contracts.replies import StepReply
from contracts.steps import Step
from gateway import metrics
from gateway.clock import Clock
from gateway.saga.machine import Policy, Saga
from gateway.saga.plan import Plan
from gateway.store.db import Database
from gateway.store.sagas import ConcurrentUpdateError, load, save
from gateway.store.tables import InboxRow

log = structlog.get_logger()

Change = Callable[[Saga, datetime], None]
CONFLICT_RETRIES = 8


class Orchestrator:
    """Decides what happens next for a birth, one committed change at a time."""

    def __init__(
        self,
        db: Database,
        plan: Plan,
        policy: Policy,
        clock: Clock,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.db, self.plan, self.policy, self.clock = db, plan, policy, clock
        self._on_commit = on_commit

    def notify_commit(self) -> None:
        """Tell the relay that the outbox has new rows."""
        self._on_commit()

    async def update(
        self, birth_id: str, change: Change, *, actor: str, inbox: tuple[str, str] | None = None
    ) -> bool:
        """Apply `change` to the birth and commit; False when the birth is unknown
        or the message behind it was already applied."""
        for _ in range(CONFLICT_RETRIES):
            try:
                async with self.db.write() as session:
                    if inbox and not await _claim(session, *inbox, now=self.clock.now()):
                        return False
                    loaded = await load(session, birth_id, self.plan, self.policy)
                    if loaded is None:
                        return False
                    change(loaded.saga, self.clock.now())
                    commands = await save(session, loaded, actor=actor, now=self.clock.now())
            except ConcurrentUpdateError:
                log.debug("saga.conflict", birth_id=birth_id)
                continue
            metrics.observe_saga(loaded.saga, self.clock.now())
            if commands:
                self._on_commit()
            return True
        raise ConcurrentUpdateError(birth_id)

    async def handle_reply(self, envelope: Envelope) -> None:
        """A consumer of `birthlink.orchestrator`: an adapter's reply."""
        if envelope.step is None:
            log.warning("orchestrator.reply.without_step", message_id=envelope.message_id)
            return
        reply = StepReply.model_validate(envelope.data)
        step: Step = envelope.step

        def apply(saga: Saga, now: datetime) -> None:
            saga.on_reply(step, reply, envelope.attempt, now)

        applied = await self.update(
            envelope.birth_id,
            apply,
            actor=f"department:{envelope.type}",
            inbox=("orchestrator", envelope.message_id),
        )
        log.info(
            "orchestrator.reply",
            outcome=reply.outcome,
            applied=applied,
            birth_id=envelope.birth_id,
            step=step.value,
            attempt=envelope.attempt,
        )


async def _claim(session: AsyncSession, consumer: str, message_id: str, *, now: datetime) -> bool:
    """Record the message as applied; False when it already was."""
    if await session.get(InboxRow, (consumer, message_id)) is not None:
        return False
    # Only a clash on this row means "applied meanwhile by another consumer"; any
    # other integrity error is a failure of the change itself and must reach the
    # bus (redelivered, then dead-lettered), not be acked as a duplicate.
    try:
        async with session.begin_nested():
            session.add(InboxRow(consumer=consumer, message_id=message_id, received_at=now))
    except IntegrityError:
        return False
    return True
