"""The sweeper: time lives in the database, not in sleeping tasks.

Every `interval_s` it finds steps whose `next_attempt_at` has come (a retry, an
expired dispatch lease, a department to poll, a deadline) and lets the saga act.
A message lost with a crashed process is found again this way.
"""

import asyncio
from datetime import datetime

import structlog
from sqlalchemy import select

from contracts.steps import StepState
from gateway.clock import Clock
from gateway.orchestrator import Orchestrator
from gateway.saga.machine import Saga
from gateway.store.db import Database
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
        orchestrator: Orchestrator,
        clock: Clock,
        *,
        interval_s: float = 1.0,
        batch: int = 200,
    ) -> None:
        self.db, self.orchestrator, self.clock = db, orchestrator, clock
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
            await self.orchestrator.update(birth_id, _visit, actor="timer")
        return len(due)

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            try:
                await self.sweep_once()
            except Exception:
                log.exception("timers.sweep_failed")
            await asyncio.sleep(self.interval_s)


def _visit(saga: Saga, now: datetime) -> None:
    saga.on_due(now)
