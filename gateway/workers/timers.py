"""The sweeper: time lives in the database, not in sleeping tasks.

It finds steps whose `next_attempt_at` has come (a retry, an expired dispatch
lease, a department to poll, a deadline) and lets the saga act. A message lost
with a crashed process is found again this way.

An idle system costs nothing: after a sweep the sweeper sleeps until the
earliest due time (read with the due ones, by a partial index), at most
`max_wait_s` (a timer another process wrote), and a commit in this process
wakes it to look again (`wake`), at most once every `interval_s`.

With several orchestrators, each sweeps the births of its own partitions (the
same births whose replies it takes), so that two processes rarely change one
birth at once. Another's births it visits only once they are `takeover` late:
their own orchestrator is down.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Select, func, select

from gateway.clock import Clock
from gateway.services.replies import visit
from gateway.services.unit_of_work import UnitOfWork
from gateway.store.db import Database, store_unavailable
from gateway.store.tables import TIMED_STATES, StepRow

log = structlog.get_logger()


def due_births(now: datetime, limit: int) -> Select[str, datetime | None]:
    """Births with a step whose time has come, and since when (served by
    `ix_steps_timers`)."""
    timed = StepRow.state.in_(TIMED_STATES)
    return (
        select(StepRow.birth_id, func.min(StepRow.next_attempt_at))
        .where(timed, StepRow.next_attempt_at <= now)
        .group_by(StepRow.birth_id)
        .limit(limit)
    )


def earliest_after(now: datetime) -> Select[Any]:
    """When the next timer is due."""
    return select(func.min(StepRow.next_attempt_at)).where(
        StepRow.state.in_(TIMED_STATES), StepRow.next_attempt_at > now
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
        max_wait_s: float = 10.0,
        batch: int = 200,
        mine: Callable[[str], bool] = lambda birth_id: True,
        takeover: timedelta = timedelta(seconds=30),
    ) -> None:
        self.db, self.uow, self.clock = db, uow, clock
        self.mine, self.takeover = mine, takeover
        self.interval_s, self.max_wait_s, self.batch = interval_s, max_wait_s, batch
        self.next_due: datetime | None = None  # the earliest timer after the last sweep
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def sweep_once(self) -> int:
        """Visit the births that are due; return how many were visited."""
        now = self.clock.now()
        async with self.db.read() as session:
            due = (await session.execute(due_births(now, self.batch))).all()
            self.next_due = await session.scalar(earliest_after(now))
        visited = 0
        for birth_id, since in due:
            if self.mine(birth_id) or (since is not None and since <= now - self.takeover):
                await visit(self.uow, birth_id)
                visited += 1
        return visited

    def _wait_s(self) -> float:
        if self.next_due is None:
            return self.max_wait_s
        ahead = (self.next_due - self.clock.now()).total_seconds()
        return min(max(ahead, 0.0), self.max_wait_s)

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            self._wake.clear()  # a commit from here on makes the next sweep look again
            started = time.monotonic()
            try:
                visited = await self.sweep_once()
            except Exception as exc:
                if store_unavailable(exc):  # it resumes by itself once the store is back
                    log.warning("timers.store_unavailable", error=type(exc).__name__)
                else:
                    log.exception("timers.sweep_failed")
                visited, self.next_due = 0, None
            if not visited:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._wait_s())
            # Under load commits wake it all the time: one sweep per interval at most.
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))
