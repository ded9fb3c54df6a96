"""What counts as the saga store being away, and a consumer that holds its
message through the outage instead of failing it."""

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from contracts.envelope import Envelope
from gateway.store.db import store_unavailable
from gateway.workers.outage import held_through_outages


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_a_refused_or_cut_connection_is_the_store_away_a_refused_change_is_not() -> None:
    assert store_unavailable(ConnectionRefusedError(111, "refused"))
    cut = DBAPIError("SELECT 1", None, _DriverError("08003"), connection_invalidated=True)
    assert store_unavailable(cut)
    assert store_unavailable(OperationalError("SELECT 1", None, _DriverError("57P03")))
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = ConnectionResetError()
    assert store_unavailable(wrapped)
    assert not store_unavailable(IntegrityError("INSERT", None, _DriverError("23505")))
    assert not store_unavailable(ValueError("bad message"))


async def test_a_handler_is_held_through_the_outage_and_other_errors_still_fail() -> None:
    calls: list[str] = []

    async def handler(envelope: Envelope) -> None:
        calls.append(envelope.birth_id)
        if len(calls) < 3:
            raise ConnectionRefusedError(111, "refused")

    held = held_through_outages(handler, first_pause_s=0.001, longest_pause_s=0.002)
    await held(Envelope(type="StepCompleted", birth_id="b1"))
    assert calls == ["b1"] * 3  # returned (acked) once the store answered

    async def poison(_: Envelope) -> None:
        raise ValueError("not a reply")

    with pytest.raises(ValueError, match="not a reply"):
        await held_through_outages(poison)(Envelope(type="StepCompleted", birth_id="b2"))
