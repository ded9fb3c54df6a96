"""The sweeper: time lives in the database, not in sleeping tasks.

Every `interval_s` it finds steps whose `next_attempt_at` has come (a retry, an
expired dispatch lease, a department to poll, a deadline) and lets the saga act.
A message lost with a crashed process is found again this way.
"""

import asyncio

import structlog
from sqlalchemy import select

from contracts.steps import StepState
from gateway.clock import Clock
from gateway.services.replies import visit
from gateway.services.unit_of_work import UnitOfWork
from gateway.store.db import Database, store_unavailable
from gateway.store.tables import StepRow

log = structlog.get_logger()

TIMED_STATES = (
    StepState.QUEUED.value,
    StepState.IN_PROGRESS.value,
    StepState.RETRYING.value,
    StepState.AWAITING_DEPARTMENT.value,
)


class Sweeper:
    """Visits births with a step whose time has come."""

    def __init__(
        self,
        db: Database,
        uow: UnitOfWork,
        clock: Clock,
        *,
        interval_s: float = 1.0,
        batch: int = 200,
    ) -> None:
        self.db, self.uow, self.clock = db, uow, clock
        self.interval_s, self.batch = interval_s, batch

    async def sweep_once(self) -> int:
        """Visit the births that are due; return how many were visited."""
        now = self.clock.now()
        async with self.db.read() as session:
            due = (
                await session.scalars(
                    select(StepRow.birth_id)
                    .where(StepRow.state.in_(TIMED_STATES), StepRow.next_attempt_at <= now)
                    .distinct()
                    .limit(self.batch)
                )
            ).all()
        for birth_id in due:
            await visit(self.uow, birth_id)
        return len(due)

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            try:
                await self.sweep_once()
            except Exception as exc:
                if store_unavailable(exc):  # it resumes by itself once the store is back
                    log.warning("timers.store_unavailable", error=type(exc).__name__)
                else:
                    log.exception("timers.sweep_failed")
            await asyncio.sleep(self.interval_s)
