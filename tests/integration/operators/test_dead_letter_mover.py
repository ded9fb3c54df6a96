"""The dead letter mover and re-drive on both transports and both stores: each
dead letter stored once, re-driven through the outbox under its own message id,
counted again when it dies again, gone when its consumer is fixed."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from bus.base import ManagedTransport
from bus.inprocess import InProcessTransport
from bus.rabbitmq import RabbitMQTransport
from bus.sealed import DEV_BUS_KEYS, SealedTransport
from bus.topology import COMMANDS_EXCHANGE, Topology, department_queue
from contracts.catalogue import builtin_registry
from contracts.commands import routing_key
from contracts.envelope import Envelope
from contracts.sealing import Keyring, SealingError
from gateway.bootstrap import Runtime, bootstrap
from gateway.settings import GatewaySettings
from gateway.store.db import Database
from gateway.store.tables import OutboxRow
from gateway.workers.deadletters import DeadLetterMover, list_dead_letters, redrive
from tests.support.servers import wait_for
from tests.support.stack import AMQP_URL, KINDS, postgres_schema

pytestmark = pytest.mark.integration

NHC = department_queue("nhc")
CDC = department_queue("cdc")


@asynccontextmanager
async def runtime_on(kind: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    """The gateway's parts on a transport and store of `kind`, no roles running."""
    async with AsyncExitStack() as stack:
        topology = Topology(prefix=f"t{uuid4().hex[:8]}.", delivery_limit=3)
        transport: ManagedTransport
        if kind == "rabbitmq-postgres":
            dsn, schema = await stack.enter_async_context(postgres_schema())
            db = Database(dsn.replace("postgresql://", "postgresql+asyncpg://"), schema=schema)
            rabbit = RabbitMQTransport(AMQP_URL, topology)
            stack.push_async_callback(rabbit.delete_topology)
            transport = rabbit
        else:
            db = Database(f"sqlite+aiosqlite:///{tmp_path / 'dead.db'}")
            transport = InProcessTransport(topology)
        transport = SealedTransport(transport, Keyring.parse(DEV_BUS_KEYS))
        runtime = bootstrap(GatewaySettings(database_url=db.url), transport=transport, db=db)
        await runtime.start(roles=())
        stack.push_async_callback(runtime.stop)
        yield runtime


def command(birth_id: str, step: str = "birth_certificate") -> Envelope:
    return Envelope(
        type=builtin_registry()[step].command,
        birth_id=birth_id,
        step=step,
        data={"idempotency_key": f"{birth_id}:{step}", "record": {}},
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_dead_letters_are_moved_once_redriven_and_counted_again_when_they_die_again(
    tmp_path: Path, kind: str
) -> None:
    async with runtime_on(kind, tmp_path) as runtime:
        mover = runtime.dead_letters
        assert mover is not None
        broken = True
        handled: list[str] = []

        async def consumer(envelope: Envelope) -> None:
            if broken:
                raise RuntimeError("a bug in the consumer")
            handled.append(envelope.message_id)

        await runtime.transport.subscribe(NHC, consumer, prefetch=4)
        sent = [command("b1"), command("b2")]
        for envelope in sent:
            await runtime.transport.publish(
                envelope, exchange=COMMANDS_EXCHANGE, routing_key=routing_key("nhc", "submit")
            )

        async def moved(count: int) -> bool:
            await mover.move_once()
            return len(await list_dead_letters(runtime.db)) == count

        async def on_the_broker() -> bool:
            return len(await runtime.transport.dead_letters(NHC)) == 2

        with capture_logs():  # the consumer's failures are expected
            await wait_for(on_the_broker, within=20, what="both dead-lettered")
            # A mover whose store is away takes nothing off the broker.
            unreachable = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
            away = DeadLetterMover(unreachable, runtime.transport, runtime.clock)
            with pytest.raises(OperationalError):
                await away.move_once()
            assert await on_the_broker()
            assert await mover.move_once() == 2
            assert await mover.move_once() == 0  # nothing left on the broker
            rows = await list_dead_letters(runtime.db)
            assert sorted(r.message_id for r in rows) == sorted(e.message_id for e in sent)
            assert {(r.queue, r.deaths, r.step) for r in rows} == {(NHC, 1, "birth_certificate")}
            assert {(r.exchange, r.routing_key) for r in rows} == {
                (COMMANDS_EXCHANGE, "nhc.submit")
            }

            first = rows[0]
            [done] = await redrive(runtime.db, [first.id], actor="operator:bob", now=now())
            assert done.redriven_by == "operator:bob"
            async with runtime.db.read() as session:
                outbox = await session.get(OutboxRow, 1)
            assert outbox is not None
            assert (outbox.message_id, outbox.routing_key) == (first.message_id, "nhc.submit")
            assert await runtime.relay.publish_once() == 1
            # Still broken: it dies again and waits again, one death more.
            await wait_for(lambda: moved(2), within=20, what="dead again")
            again = {r.id: r for r in await list_dead_letters(runtime.db)}
            assert again[first.id].deaths == 2

        broken = False
        redriven = await redrive(runtime.db, None, actor="operator:bob", now=now())
        assert len(redriven) == 2
        assert await redrive(runtime.db, None, actor="operator:bob", now=now()) == []
        assert await runtime.relay.publish_once() == 2

        async def all_handled() -> bool:
            return sorted(handled) == sorted(e.message_id for e in sent)

        await wait_for(all_handled, within=20, what="both handled after the fix")
        await mover.move_once()
        assert await list_dead_letters(runtime.db) == []


def now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_dead_letter_under_a_dropped_bus_key_holds_back_only_its_own_queue(
    tmp_path: Path, kind: str
) -> None:
    async with runtime_on(kind, tmp_path) as runtime:
        mover, sealed = runtime.dead_letters, runtime.transport
        assert mover is not None
        assert isinstance(sealed, SealedTransport)
        stray = SealedTransport(sealed.inner, Keyring.parse(Keyring.generate("gone")))

        async def broken(envelope: Envelope) -> None:
            raise RuntimeError("a bug in the consumer")

        await sealed.subscribe(NHC, broken)
        await sealed.subscribe(CDC, broken)
        await stray.publish(
            command("b1"), exchange=COMMANDS_EXCHANGE, routing_key=routing_key("nhc", "submit")
        )
        await sealed.publish(
            command("b2", "vaccination_record"),
            exchange=COMMANDS_EXCHANGE,
            routing_key=routing_key("cdc", "submit"),
        )

        async def both_dead() -> bool:
            return all([await sealed.inner.dead_letters(q) for q in (NHC, CDC)])

        with capture_logs():  # the failures are expected
            await wait_for(both_dead, within=20, what="both dead-lettered")
            with pytest.raises(SealingError, match="gone"):
                await mover.move_once()
        [moved] = await list_dead_letters(runtime.db)
        assert (moved.queue, moved.birth_id) == (CDC, "b2")  # moved, though nhc's came first
        assert len(await sealed.inner.dead_letters(NHC)) == 1  # kept for when the key is back
