"""The timers' sweeper sleeps until the earliest due time when idle, and a
commit in its process (a new timer) wakes it to look again; on both stores."""

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from contracts.catalogue import builtin_registry
from contracts.registry import RuleContext
from gateway.bootstrap import policy_from
from gateway.clock import SystemClock
from gateway.saga.plan import Plan
from gateway.services.unit_of_work import UnitOfWork
from gateway.settings import GatewaySettings
from gateway.store.tables import Birth, StepRow
from gateway.workers.timers import Sweeper
from tests.support.servers import wait_for
from tests.support.stack import KINDS, saga_store

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", KINDS)
async def test_a_timer_written_here_wakes_the_idle_sweeper(kind: str, tmp_path: Path) -> None:
    async with saga_store(kind, tmp_path) as db:
        clock = SystemClock()
        uow = UnitOfWork(
            db,
            Plan(builtin_registry(), RuleContext(None)),
            policy_from(GatewaySettings()),
            clock,
            lookup_key="k",
        )
        sweeper = Sweeper(db, uow, clock, interval_s=0.1, max_wait_s=600)
        db.after_write(sweeper.wake)
        task = asyncio.create_task(sweeper.run())
        try:
            await asyncio.sleep(0.3)
            assert sweeper.next_due is None  # nothing to wait for: it sleeps its longest
            now = clock.now()
            due = now + timedelta(hours=1)
            async with db.write() as session:
                session.add(
                    Birth(
                        id="b1",
                        hospital_code="H1",
                        hospital_record_id="r1",
                        tracking_code="T1",
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
                        birth_id="b1",
                        step="birth_certificate",
                        department="nhc",
                        state="retrying",
                        idempotency_key="b1:birth_certificate",
                        next_attempt_at=due,
                        updated_at=now,
                    )
                )
            await wait_for(
                lambda: asyncio.sleep(0, sweeper.next_due == due), within=5, what="woken"
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
