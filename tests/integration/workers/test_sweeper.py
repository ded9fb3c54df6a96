"""The timers' sweeper sleeps until the earliest due time when idle, and a
commit in its process (a new timer) wakes it to look again; with several
orchestrators it visits its own partitions' births, and another's once they are
late; on both stores."""

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bus.topology import Topology
from contracts.catalogue import builtin_registry
from contracts.registry import RuleContext
from gateway.bootstrap import policy_from
from gateway.clock import SystemClock
from gateway.saga.plan import Plan
from gateway.services.unit_of_work import Done, UnitOfWork
from gateway.settings import GatewaySettings
from gateway.store.db import Database
from gateway.store.tables import Birth, StepRow
from gateway.workers.timers import Sweeper
from tests.support.servers import wait_for
from tests.support.stack import KINDS, saga_store

pytestmark = pytest.mark.integration


class Visits(UnitOfWork):
    """Records the births the sweeper visits instead of deciding anything."""

    visited: list[str]

    async def change(self, birth_id: str, *args: Any, **kwargs: Any) -> Done[Any] | None:
        self.visited.append(birth_id)
        return None


def visits(db: Database) -> Visits:
    uow = Visits(
        db,
        Plan(builtin_registry(), RuleContext(None)),
        policy_from(GatewaySettings()),
        SystemClock(),
        lookup_key="k",
    )
    uow.visited = []
    return uow


async def add_timer(db: Database, birth_id: str, due: datetime) -> None:
    """A birth whose first step retries at `due`."""
    now = SystemClock().now()
    async with db.write() as session:
        session.add(
            Birth(
                id=birth_id,
                hospital_code="H1",
                hospital_record_id=birth_id,
                tracking_code=f"T{birth_id}",
                born_at=now,
                status="in_progress",
                event={},
                body_hash="h",
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        session.add(
            StepRow(
                birth_id=birth_id,
                step="birth_certificate",
                department="nhc",
                state="retrying",
                idempotency_key=f"{birth_id}:birth_certificate",
                next_attempt_at=due,
                updated_at=now,
            )
        )


@pytest.mark.parametrize("kind", KINDS)
async def test_a_timer_written_here_wakes_the_idle_sweeper(kind: str, tmp_path: Path) -> None:
    async with saga_store(kind, tmp_path) as db:
        clock = SystemClock()
        sweeper = Sweeper(db, visits(db), clock, interval_s=0.1, max_wait_s=600)
        db.after_write(sweeper.wake)
        task = asyncio.create_task(sweeper.run())
        try:
            await asyncio.sleep(0.3)
            assert sweeper.next_due is None  # nothing to wait for: it sleeps its longest
            due = clock.now() + timedelta(hours=1)
            await add_timer(db, "b1", due)
            await wait_for(
                lambda: asyncio.sleep(0, sweeper.next_due == due), within=5, what="woken"
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("kind", KINDS)
async def test_each_orchestrator_sweeps_its_own_partitions_and_another_s_once_late(
    kind: str, tmp_path: Path
) -> None:
    topology = Topology(partitions=2)
    ids = (f"birth-{n}" for n in range(100))
    mine, theirs, theirs_late = [
        next(b for b in ids if topology.partition(b) == p) for p in (0, 1, 1)
    ]
    async with saga_store(kind, tmp_path) as db:
        now = SystemClock().now()
        await add_timer(db, mine, now - timedelta(seconds=1))
        await add_timer(db, theirs, now - timedelta(seconds=1))
        await add_timer(db, theirs_late, now - timedelta(seconds=31))
        settings = GatewaySettings(
            result_partitions=2, orchestrator_instance=0, orchestrator_instances=2
        )
        uow = visits(db)
        sweeper = Sweeper(
            db, uow, SystemClock(), mine=settings.owns_birth, takeover=timedelta(seconds=30)
        )
        assert await sweeper.sweep_once() == 2
        assert sorted(uow.visited) == sorted([mine, theirs_late])
