"""A batch of decisions on several births is one transaction of set-based
statements; each message applies once, each birth moves against the version
it was read at. On both stores."""

import random
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from birthlink.samples import birth_event
from contracts.replies import StepReply
from gateway.saga.machine import Saga
from gateway.services.unit_of_work import Done, Item
from gateway.store import sagas
from gateway.store.tables import HistoryRow
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def alert(detail: str) -> Any:
    """A late refusal of the completed birth certificate: the step stays, the
    history records the contradiction."""

    def decide(saga: Saga, now: datetime) -> str:
        late = StepReply(outcome="rejected", reason=detail, command_id="test")
        saga.on_reply("birth_certificate", late, 1, now)
        return detail

    return decide


async def test_a_batch_applies_each_message_once_in_one_transaction(stack: Stack) -> None:
    ids = [
        (await stack.post(birth_event(random.Random(70 + i)))).json()["birth_id"] for i in (0, 1)
    ]
    await stack.wait_until_final(ids[0])
    await stack.wait_until_final(ids[1])
    uow = stack.runtime.uow
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(sql)

    event.listen(stack.runtime.db.writer.sync_engine, "before_cursor_execute", count)
    try:
        done = await uow.change_batch(
            [
                Item(ids[0], alert("one"), actor="test:a", inbox=("test", "m1")),
                Item(ids[1], alert("two"), actor="test:b", inbox=("test", "m2")),
                Item(ids[0], alert("three"), actor="test:c", inbox=("test", "m3")),
                Item(ids[0], alert("again"), actor="test:a", inbox=("test", "m1")),
                Item("no-such-birth", alert("lost"), actor="test:d", inbox=("test", "m4")),
            ]
        )
    finally:
        event.remove(stack.runtime.db.writer.sync_engine, "before_cursor_execute", count)
    assert [d.result if d else None for d in done] == ["one", "two", "three", None, None]
    assert [d.applied if d else None for d in done] == [True, True, True, False, None]
    # One statement of each kind, whatever the number of births and messages
    # (other workers share the engine: only these are counted).
    for start in ("INSERT INTO inbox", "UPDATE births", "INSERT INTO history"):
        assert len([s for s in statements if s.startswith(start)]) == 1, start
    async with stack.runtime.db.read() as session:
        lines = (
            await session.execute(
                select(HistoryRow.birth_id, HistoryRow.actor, HistoryRow.detail)
                .where(HistoryRow.actor.like("test:%"))
                .order_by(HistoryRow.birth_id, HistoryRow.seq)
            )
        ).all()
    # "... contradicting it (rejected: <reason>)"
    said = sorted((b, who, str(detail).rsplit(": ", 1)[-1].rstrip(")")) for b, who, detail in lines)
    assert said == sorted(
        [(ids[0], "test:a", "one"), (ids[0], "test:c", "three"), (ids[1], "test:b", "two")]
    )
    again = Item(ids[1], alert("late"), actor="test:b", inbox=("test", "m2"))
    assert await uow.change_batch([again]) == [Done(None, applied=False)]


async def test_a_birth_moved_since_it_was_read_is_a_conflict(stack: Stack) -> None:
    birth_id = (await stack.post(birth_event(random.Random(75)))).json()["birth_id"]
    await stack.wait_until_final(birth_id)
    async with stack.runtime.db.read() as session:
        stored = (await sagas.load_many(session, [birth_id]))[birth_id]
    stale = sagas.Change(
        birth_id=birth_id,
        read_version=stored.version - 1,
        read_history_seq=stored.history_seq,
        status=stored.status,
        cancel_reason=None,
        actor="test",
        now=stack.runtime.clock.now(),
        history=[sagas.HistoryLine(None, "x", "x", "stale")],
    )
    with pytest.raises(sagas.ConcurrentUpdateError):
        async with stack.runtime.db.write() as session:
            await sagas.save_many(session, [stale])
