"""A message that always crashes its consumer: dead-lettered by the broker after
the delivery limit, moved to the table, listed for operators, and completed by
`birthlink dead redrive` once the cause is gone; the operator CLI end to end."""

import asyncio
import random
from pathlib import Path

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from birthlink.samples import birth_event
from gateway.store.db import Database
from gateway.workers.deadletters import list_dead_letters
from tests.e2e.test_departments_behaviour import operator_client, step_of
from tests.support.cli import run_birthlink, store_env
from tests.support.servers import wait_for
from tests.support.stack import KINDS, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def poison(db: Database) -> list[str]:
    """The cause: the store refuses to complete this step (think of a bad
    migration); every delivery of the reply fails in the orchestrator."""
    when = "NEW.step = 'vaccination_record' AND NEW.state = 'completed'"
    if db.is_sqlite:
        return [
            f"CREATE TRIGGER poison BEFORE UPDATE ON steps FOR EACH ROW WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'vaccination cannot complete'); END"
        ]
    return [
        f'CREATE FUNCTION "{db.schema}".poison() RETURNS trigger LANGUAGE plpgsql '
        "AS $$ BEGIN RAISE EXCEPTION 'vaccination cannot complete'; END $$",
        f'CREATE TRIGGER poison BEFORE UPDATE ON "{db.schema}".steps FOR EACH ROW '
        f'WHEN ({when}) EXECUTE FUNCTION "{db.schema}".poison()',
    ]


def cure(db: Database) -> str:
    return "DROP TRIGGER poison" if db.is_sqlite else f'DROP TRIGGER poison ON "{db.schema}".steps'


async def birthlink(db: Database, *args: str) -> tuple[int, str]:
    """Run the CLI against the stack's store, as an operator would."""
    ran = await run_birthlink(store_env(db), *args)
    return ran.code, ran.out + ran.err


async def test_a_reply_that_always_crashes_its_consumer_is_dead_lettered_then_redriven(
    tmp_path: Path, kind: str
) -> None:
    # The mover is driven by hand here (its own loop would wait an hour).
    async with running_stack(kind, tmp_path, dead_letter_interval_s=3600) as stack:
        db = stack.runtime.db
        async with db.write() as session:
            for statement in poison(db):
                await session.execute(text(statement))
        birth_id = (await stack.post(birth_event(random.Random(61)))).json()["birth_id"]
        mover = stack.runtime.dead_letters
        assert mover is not None

        async def dead_lettered() -> list[object] | None:
            await mover.move_once()
            return list(await list_dead_letters(stack.runtime.db)) or None

        # Captured, not rendered: the failures are expected, and checked here.
        with capture_logs() as logs:
            await wait_for(dead_lettered, within=30, what="the reply dead-lettered")
        failed = [e for e in logs if e["event"] == "bus.handler.failed"]
        assert len(failed) == 5  # the delivery limit
        assert [e["event"] for e in logs].count("dead_letters.stored") == 1
        [dead] = await list_dead_letters(stack.runtime.db)
        assert (dead.queue, dead.type, dead.step) == (
            "birthlink.orchestrator",
            "StepCompleted",
            "vaccination_record",
        )
        birth = await stack.birth(birth_id)
        assert step_of(birth, "vaccination_record")["state"] == "queued"
        async with operator_client(stack) as operator:
            listed = (await operator.get("/v1/dead-letters")).json()["dead_letters"]
            assert [(d["id"], d["birth_id"]) for d in listed] == [(dead.id, birth_id)]
            assert "envelope" not in listed[0]  # it can hold personal data
        metrics = (await stack.anonymous.get("/metrics")).text
        assert 'birthlink_dead_letters_waiting{queue="birthlink.orchestrator"} 1.0' in metrics

        (code, out), (code2, out2) = await asyncio.gather(
            birthlink(db, "dead", "list"),
            birthlink(db, "births", "list", "--step-state", "queued"),
        )
        assert code == 0
        assert f"{dead.id}  birthlink.orchestrator  StepCompleted  {birth_id}" in out
        assert code2 == 0
        assert birth_id in out2
        assert "vaccination_record=queued" in out2

        async with db.write() as session:  # the cause is gone
            await session.execute(text(cure(db)))
        code, out = await birthlink(db, "dead", "redrive", "--all", "--operator", "alice")
        assert code == 0, out
        assert "1 re-driven" in out

        birth = await stack.wait_until_final(birth_id)
        assert birth["status"] == "completed"
        assert await list_dead_letters(stack.runtime.db) == []
        history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
        [redriven] = [e for e in history if e["actor"] == "operator:alice"]
        assert redriven["step"] == "vaccination_record"
        assert redriven["detail"] == "dead letter StepCompleted re-driven to birthlink.orchestrator"
        assert [e["seq"] for e in history] == list(range(1, len(history) + 1))

        (code, out), (code2, out2) = await asyncio.gather(
            birthlink(db, "births", "show", birth_id),
            birthlink(db, "births", "retry", birth_id, "vaccination_record", "--operator", "a"),
        )
        assert code == 0
        assert '"status": "completed"' in out
        assert code2 == 1
        assert "only failed or rejected steps" in out2
