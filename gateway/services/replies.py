"""What the departments answer reaches the saga here: an adapter's reply off the
bus, a department's signed callback, and the sweeper's visit when a step's time
has come (a retry, an expired lease, a department to poll). Each is one change
through the unit of work; a message is applied once (inbox)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select

from contracts.envelope import Envelope
from contracts.registry import StepName
from contracts.replies import StepReply
from gateway.saga.machine import Saga
from gateway.security.callbacks import Callback
from gateway.services.unit_of_work import Decide, Item, UnitOfWork
from gateway.store.tables import StepRow

log = structlog.get_logger()

ORCHESTRATOR = "orchestrator"  # the inbox of adapters' replies


async def apply_reply(uow: UnitOfWork, envelope: Envelope) -> bool:
    """An adapter's reply; False when it names no step, no known birth, or was
    applied before."""
    return (await apply_replies(uow, [envelope]))[0]


async def apply_replies(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> list[bool]:
    """Adapters' replies, all in one transaction (`UnitOfWork.change_batch`); for
    each, whether it was applied."""
    items: list[Item[None]] = []
    replies: list[tuple[Envelope, StepName, StepReply]] = []
    for envelope in envelopes:
        if envelope.step is None:
            log.warning("orchestrator.reply.without_step", message_id=envelope.message_id)
            continue
        reply = StepReply.model_validate(envelope.data)
        replies.append((envelope, envelope.step, reply))
        items.append(
            Item(
                envelope.birth_id,
                _on_reply(envelope.step, reply, envelope.attempt),
                actor=f"department:{envelope.type}",
                message_id=envelope.message_id,
            )
        )
    outcomes = await uow.change_batch(ORCHESTRATOR, items) if items else []
    applied: dict[int, bool] = {}
    for (envelope, step, reply), done in zip(replies, outcomes, strict=True):
        applied[id(envelope)] = done is not None and done.applied
        log.info(
            "orchestrator.reply",
            outcome=reply.outcome,
            applied=applied[id(envelope)],
            birth_id=envelope.birth_id,
            step=step,
            attempt=envelope.attempt,
        )
    return [applied.get(id(envelope), False) for envelope in envelopes]


def _on_reply(step: StepName, reply: StepReply, attempt: int) -> Decide[None]:
    def decide(saga: Saga, now: datetime) -> None:
        if step in saga.steps:
            saga.on_reply(step, reply, attempt, now)

    return decide


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
