"""What the departments answer reaches the saga here: an adapter's reply off the
bus, a department's signed callback, and the sweeper's visit when a step's time
has come (a retry, an expired lease, a department to poll). Each is one change
through the unit of work; a message is applied once (inbox)."""

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select

from contracts.envelope import Envelope
from contracts.replies import StepReply
from gateway.saga.machine import Saga
from gateway.security.callbacks import Callback
from gateway.services.unit_of_work import UnitOfWork
from gateway.store.tables import StepRow

log = structlog.get_logger()

ORCHESTRATOR = "orchestrator"  # the inbox of adapters' replies


async def apply_reply(uow: UnitOfWork, envelope: Envelope) -> bool:
    """An adapter's reply; False when it names no step, no known birth, or was
    applied before."""
    step = envelope.step
    if step is None:
        log.warning("orchestrator.reply.without_step", message_id=envelope.message_id)
        return False
    reply = StepReply.model_validate(envelope.data)

    def decide(saga: Saga, now: datetime) -> None:
        if step in saga.steps:
            saga.on_reply(step, reply, envelope.attempt, now)

    done = await uow.change(
        envelope.birth_id,
        decide,
        actor=f"department:{envelope.type}",
        inbox=(ORCHESTRATOR, envelope.message_id),
    )
    applied = done is not None and done.applied
    log.debug(
        "orchestrator.reply",
        outcome=reply.outcome,
        applied=applied,
        birth_id=envelope.birth_id,
        step=step,
        attempt=envelope.attempt,
    )
    return applied


@dataclass(frozen=True)
class Applied:
    """A callback applied to `birth_id`; `refused`: why its answer was not taken."""

    birth_id: str
    refused: str | None = None


async def apply_callback(
    uow: UnitOfWork, department: str, callback: Callback, digest: str
) -> Applied | None:
    """A department's answer to a request it accepted earlier; None when the
    reference is not known (yet)."""
    async with uow.db.read() as session:
        row = await session.scalar(
            select(StepRow).where(
                StepRow.department == department, StepRow.department_ref == callback.reference
            )
        )
    if row is None:
        return None
    step = row.step

    def decide(saga: Saga, now: datetime) -> str | None:
        if step not in saga.steps:
            return None
        return saga.on_reply(step, callback.reply, saga.steps[step].attempt, now)

    done = await uow.change(
        row.birth_id,
        decide,
        actor=f"department:{department}",
        inbox=(f"callback:{department}", digest),
    )
    return Applied(row.birth_id, done.result if done else None)


async def visit(uow: UnitOfWork, birth_id: str) -> None:
    """The sweeper's visit: the saga acts on what is due."""

    def decide(saga: Saga, now: datetime) -> None:
        saga.on_due(now)

    await uow.change(birth_id, decide, actor="timer")
