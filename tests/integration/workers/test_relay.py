"""The relay publishes right after a commit, holds no transaction or lock while
the broker confirms, and several relays side by side publish each message once;
on both stores (PostgreSQL: woken by NOTIFY from another connection)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select, update

from bus.base import BusError, ManagedTransport, Outgoing
from bus.inprocess import InProcessTransport
from bus.topology import COMMANDS_EXCHANGE, Topology, department_queue
from contracts.envelope import Envelope
from contracts.sealing import Keyring
from gateway.clock import SystemClock
from gateway.settings import DEV_DATA_KEYS
from gateway.store import crypto
from gateway.store.db import Database
from gateway.store.tables import OutboxRow
from gateway.workers.relay import Relay
from tests.support.servers import wait_for
from tests.support.stack import KINDS, saga_store

pytestmark = pytest.mark.integration


class Held:
    """The in-process bus, holding each batch's confirms until `release`."""

    def __init__(self, inner: InProcessTransport) -> None:
        self.inner = inner
        self.waiting, self.released = asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def publish_many(self, items: Iterable[Outgoing]) -> list[BusError | None]:
        items = list(items)
        self.waiting.set()
        await self.released.wait()
        return await self.inner.publish_many(items)


@asynccontextmanager
async def bus() -> AsyncIterator[tuple[InProcessTransport, Counter[str]]]:
    transport = InProcessTransport(Topology())
    received: Counter[str] = Counter()

    async def department(envelope: Envelope) -> None:
        received[envelope.message_id] += 1

    await transport.subscribe(department_queue("nhc"), department)
    try:
        yield transport, received
    finally:
        await transport.close()


async def commit_messages(db: Database, count: int) -> list[str]:
    envelopes = [Envelope(type="SubmitBirthCertificate", birth_id=f"b{i}") for i in range(count)]
    async with db.write() as session:
        for envelope in envelopes:
            session.add(
                OutboxRow(
                    message_id=envelope.message_id,
                    exchange=COMMANDS_EXCHANGE,
                    routing_key="nhc.submit",
                    envelope=envelope.model_dump(mode="json"),
                    created_at=SystemClock().now(),
                )
            )
    return [e.message_id for e in envelopes]


async def all_marked(db: Database) -> bool:
    """Whether every row is marked published (a relay marks after the confirm)."""
    async with db.read() as session:
        rows = await session.scalars(select(OutboxRow.id).where(OutboxRow.published_at.is_(None)))
        return not rows.all()


@pytest.mark.parametrize("kind", KINDS)
async def test_nothing_is_held_while_the_broker_confirms(kind: str, tmp_path: Path) -> None:
    async with saga_store(kind, tmp_path) as db, bus() as (transport, received):
        held = Held(transport)
        relay = Relay(db, cast(ManagedTransport, held), SystemClock())
        await commit_messages(db, 3)
        publishing = asyncio.create_task(relay.publish_once())
        await asyncio.wait_for(held.waiting.wait(), 10)
        # Mid-publish, another writer takes the very rows at once: no open
        # transaction (SQLite's one writer) and no row lock (PostgreSQL) is held.
        async with db.write() as session:
            query = update(OutboxRow).values(exchange=COMMANDS_EXCHANGE)
            if not db.is_sqlite:
                await session.execute(select(OutboxRow.id).with_for_update(nowait=True))
            await asyncio.wait_for(session.execute(query), 5)
        # A second relay does not take the leased rows.
        assert await Relay(db, transport, SystemClock()).publish_once() == 0
        held.released.set()
        assert await publishing == 3
        await wait_for(lambda: asyncio.sleep(0, len(received) == 3), within=10)
        assert await all_marked(db)


@pytest.mark.parametrize("kind", KINDS)
async def test_relays_side_by_side_publish_each_message_once(kind: str, tmp_path: Path) -> None:
    async with saga_store(kind, tmp_path) as db, bus() as (transport, received):
        relays = [Relay(db, transport, SystemClock(), batch=7) for _ in range(3)]
        tasks = [asyncio.create_task(r.run()) for r in relays]
        try:
            ids = []
            for _ in range(10):
                ids += await commit_messages(db, 20)
                for relay in relays:
                    relay.wake()  # as each process's own commits do
            await wait_for(lambda: asyncio.sleep(0, len(received) == 200), within=30)
            await wait_for(lambda: all_marked(db), within=10, what="all marked")
            assert set(received) == set(ids)
            assert max(received.values()) == 1
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_on_postgresql_a_commit_elsewhere_wakes_the_relay(tmp_path: Path) -> None:
    async with saga_store("rabbitmq-postgres", tmp_path) as db, bus() as (transport, received):
        # Its sweep would come only after a minute: a notification must wake it.
        relay = Relay(db, transport, SystemClock(), interval_s=60)
        task = asyncio.create_task(relay.run())
        try:
            await asyncio.sleep(0.5)  # listening
            other = Database(db.url, schema=db.schema, pool_size=1)  # another process's commit
            crypto.bind(other, Keyring.parse(DEV_DATA_KEYS))
            ids = await commit_messages(other, 2)
            await other.dispose()
            await wait_for(lambda: asyncio.sleep(0, len(received) == 2), within=10)
            assert set(received) == set(ids)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def unmarked(db: Database) -> set[str]:
    async with db.read() as session:
        query = select(OutboxRow.message_id).where(OutboxRow.published_at.is_(None))
        return set((await session.scalars(query)).all())


@pytest.mark.parametrize("kind", KINDS)
async def test_a_round_marks_what_the_last_one_published_and_stopping_marks_the_rest(
    kind: str, tmp_path: Path
) -> None:
    async with saga_store(kind, tmp_path) as db, bus() as (transport, received):
        relay = Relay(db, transport, SystemClock(), interval_s=60, mark_s=60)
        first = await commit_messages(db, 3)
        assert await relay.round() == (3, 0)
        assert await unmarked(db) == set(first)  # confirmed: marked with the next claim
        second = await commit_messages(db, 2)
        assert await relay.round() == (2, 0)  # under load, one commit a round
        assert await unmarked(db) == set(second)
        third = await commit_messages(db, 4)
        task = asyncio.create_task(relay.run())
        try:
            await wait_for(lambda: asyncio.sleep(0, len(received) == 9), within=10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert await unmarked(db) == set()  # the marks waited a minute: stopping made them
        assert set(received) == {*first, *second, *third}
        assert max(received.values()) == 1
