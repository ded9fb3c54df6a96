"""What the departments answer reaches the saga here: an adapter's reply off the
bus, a department's signed callback, and the sweeper's visit when a step's time
has come (a retry, an expired lease, a department to poll). Each is one change
through the unit of work; a message is applied once (inbox). Replies and
callbacks both reach the saga off the orchestrator's queue, in batches."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from contracts.envelope import Envelope
from contracts.registry import StepName
from contracts.replies import StepReply
from gateway.saga.machine import Saga
from gateway.security.callbacks import Callback
from gateway.services.unit_of_work import Decide, Item, UnitOfWork

log = structlog.get_logger()

ORCHESTRATOR = "orchestrator"  # the inbox of adapters' replies
CALLBACK = "DepartmentCallback"  # a callback's envelope on the orchestrator's queue


async def apply_reply(uow: UnitOfWork, envelope: Envelope) -> bool:
    """An adapter's reply; False when it names no step, no known birth, or was
    applied before."""
    return (await apply_replies(uow, [envelope]))[0]


async def apply_replies(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> list[bool]:
    """Adapters' replies and departments' callbacks off the orchestrator's queue,
    all in one transaction (`UnitOfWork.change_batch`); for each, whether it
    was applied."""
    items: list[Item[Any]] = []
    taken: list[tuple[Envelope, StepName, StepReply]] = []
    for envelope in envelopes:
        if envelope.step is None:
            log.warning("orchestrator.reply.without_step", message_id=envelope.message_id)
            continue
        if envelope.type == CALLBACK:
            department = str(envelope.data["department"])
            reply = StepReply.model_validate(envelope.data["reply"])
            item: Item[Any] = Item(
                envelope.birth_id,
                _on_callback(envelope.step, reply),
                actor=f"department:{department}",
                inbox=(f"callback:{department}", str(envelope.data["digest"])),
            )
        else:
            reply = StepReply.model_validate(envelope.data)
            item = Item(
                envelope.birth_id,
                _on_reply(envelope.step, reply, envelope.attempt),
                actor=f"department:{envelope.type}",
                inbox=(ORCHESTRATOR, envelope.message_id),
            )
        taken.append((envelope, envelope.step, reply))
        items.append(item)
    outcomes = await uow.change_batch(items) if items else []
    applied: dict[int, bool] = {}
    for (envelope, step, reply), done in zip(taken, outcomes, strict=True):
        applied[id(envelope)] = done is not None and done.applied
        log.debug(
            "orchestrator.reply",
            outcome=reply.outcome,
            applied=applied[id(envelope)],
            birth_id=envelope.birth_id,
            step=step,
            attempt=envelope.attempt,
            callback=envelope.type == CALLBACK,
        )
    return [applied.get(id(envelope), False) for envelope in envelopes]


def _on_reply(step: StepName, reply: StepReply, attempt: int) -> Decide[None]:
    def decide(saga: Saga, now: datetime) -> None:
        if step in saga.steps:
            saga.on_reply(step, reply, attempt, now)

    return decide


def _on_callback(step: StepName, reply: StepReply) -> Decide[str | None]:
    def decide(saga: Saga, now: datetime) -> str | None:
        if step not in saga.steps:
            return None
        return saga.on_reply(step, reply, saga.steps[step].attempt, now)

    return decide


@dataclass(frozen=True)
class Checked:
    """The step a callback answers; `refused`: why the saga will not take its
    answer (it records why, and the department hears it at once)."""

    birth_id: str
    step: StepName
    refused: str | None = None


async def check_callback(uow: UnitOfWork, department: str, callback: Callback) -> Checked | None:
    """Find the step a department's callback answers and try its answer on the
    saga in memory (nothing is written: the orchestrator applies it, batched);
    None when the reference is not known (yet). Callbacks that arrive together
    are looked up by one read."""
    found = await uow.by_reference(department, callback.reference)
    if found is None:
        return None
    saga, step = found
    refused = _on_callback(step, callback.reply)(saga, uow.clock.now())
    return Checked(saga.birth_id, step, refused)


def callback_envelope(
    department: str, checked: Checked, callback: Callback, digest: str
) -> Envelope:
    """A callback on its way to the orchestrator; applied once per `digest` (of
    the signed body) and department."""
    return Envelope(
        type=CALLBACK,
        birth_id=checked.birth_id,
        step=checked.step,
        data={
            "department": department,
            "digest": digest,
            "reply": callback.reply.model_dump(mode="json"),
        },
    )


async def visit(uow: UnitOfWork, birth_id: str) -> None:
    """The sweeper's visit: the saga acts on what is due."""

    def decide(saga: Saga, now: datetime) -> None:
        saga.on_due(now)

    await uow.change(birth_id, decide, actor="timer")
