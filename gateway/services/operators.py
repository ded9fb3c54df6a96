"""What operators do to a birth, for the API and the CLI alike."""

from dataclasses import dataclass
from datetime import datetime

from gateway.saga.machine import Saga
from gateway.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Retried:
    """An operator's retry: the state the step was in, whether it was retried
    (only `failed` and `rejected` steps are), and where it stands now."""

    was: str
    retried: bool
    state: str
    attempt: int


async def retry_step(uow: UnitOfWork, birth_id: str, step: str, *, actor: str) -> Retried | None:
    """Queue a `failed` or `rejected` step again (same idempotency key, fresh
    deadline); None when the birth or the step is unknown."""

    def decide(saga: Saga, now: datetime) -> Retried | None:
        view = saga.steps.get(step)
        if view is None:
            return None
        was = view.state.value
        retried = saga.retry(step, now)
        return Retried(was, retried, view.state.value, view.attempt)

    done = await uow.change(birth_id, decide, actor=actor)
    return done.result if done else None
