"""What parents do to a birth on the tracking page: confirm or decline a benefit."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gateway.saga.machine import Saga
from gateway.services.unit_of_work import UnitOfWork

Decision = Literal["confirm", "decline"]


@dataclass(frozen=True)
class Decided:
    """The parents' answer: whether it was taken (only a step awaiting the parents
    takes one), and where the step stands now (None: no such step)."""

    taken: bool
    state: str | None


async def decide_benefit(
    uow: UnitOfWork, birth_id: str, step: str, decision: Decision
) -> Decided | None:
    """Confirm (the benefit is sent to its department) or decline (`skipped`) a
    step awaiting the parents; None when the birth is unknown."""

    def decide(saga: Saga, now: datetime) -> Decided:
        taken = saga.parents_decide(step, decision, now)
        view = saga.steps.get(step)
        return Decided(taken, view.state.value if view else None)

    done = await uow.change(birth_id, decide, actor="parents")
    return done.result if done else None
