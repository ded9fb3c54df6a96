"""One suite, two transports: the in-process bus must keep RabbitMQ's rules.

Each test gets its own topology prefix, deleted from the broker afterwards.
Nothing sleeps to assert: tests wait for a condition with a timeout; the only
fixed waits are the windows in which something must *not* happen.
"""

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from bus.base import DeadLetter, ManagedTransport, NotConfirmedError, Outgoing, Unroutable
from bus.inprocess import InProcessTransport
from bus.rabbitmq import RabbitMQTransport
from bus.sealed import SealedTransport
from bus.topology import (
    COMMANDS_EXCHANGE,
    ORCHESTRATOR_QUEUE,
    RESULTS_EXCHANGE,
    Topology,
    dead_letter_queue,
    department_queue,
)
from contracts.commands import routing_key
from contracts.envelope import Envelope
from contracts.sealing import Keyring, SealingError
from tests.integration.bus.conftest import rabbitmq_transport, started_rabbitmq

pytestmark = pytest.mark.integration

DELIVERY_LIMIT = 3  # failures of the handler
CRASH_LIMIT = 10  # deliveries in all, however they ended (RabbitMQ's count)
TIMEOUT = 20.0
# How long something that must not happen is given to happen anyway.
QUIET_WINDOW = 0.3

NHC = department_queue("nhc")
CDC = department_queue("cdc")
SUBMIT_NHC = routing_key("nhc", "submit")


def new_topology() -> Topology:
    return Topology(
        prefix=f"t{uuid4().hex[:8]}.", delivery_limit=DELIVERY_LIMIT, crash_limit=CRASH_LIMIT
    )


def sibling(transport: ManagedTransport, **options: float) -> ManagedTransport:
    """Another transport of the same kind on the same topology."""
    if isinstance(transport, RabbitMQTransport):
        return rabbitmq_transport(transport.topology, **options)
    assert isinstance(transport, InProcessTransport)
    return InProcessTransport(transport.topology, **options)


@pytest.fixture
def topology() -> Topology:
    return new_topology()


@pytest.fixture
async def rabbit() -> AsyncIterator[RabbitMQTransport]:
    async with started_rabbitmq(new_topology()) as transport:
        yield transport


def command(**changes: object) -> Envelope:
    fields: dict[str, object] = {
        "type": "IssueBirthCertificate",
        "birth_id": uuid4().hex,
        "step": "birth_certificate",
        "data": {"idempotency_key": "b1:birth_certificate", "record": {"name": "Li Wei"}},
    }
    fields.update(changes)
    return Envelope.model_validate(fields)


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait for `check()` to hold, polling (broker state has no event to await)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


async def wait(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), TIMEOUT)


class Inbox:
    """A handler that records what it got and lets a test wait for it."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self._arrived = asyncio.Condition()

    async def __call__(self, envelope: Envelope) -> None:
        async with self._arrived:
            self.received.append(envelope)
            self._arrived.notify_all()

    async def wait_for(self, count: int) -> list[Envelope]:
        async with asyncio.timeout(TIMEOUT), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return self.received


async def test_a_closed_transport_is_not_ready_and_refuses_to_publish(
    transport: ManagedTransport,
) -> None:
    assert await transport.ready()
    await transport.close()
    assert not await transport.ready()
    with pytest.raises(NotConfirmedError):
        await transport.publish(command(), exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)


async def test_a_published_command_reaches_its_department_and_its_reply_the_orchestrator(
    transport: ManagedTransport,
) -> None:
    orchestrator = Inbox()
    sent = command()

    async def nhc_adapter(envelope: Envelope) -> None:
        reply = Envelope(type="StepCompleted", birth_id=envelope.birth_id, step=envelope.step)
        await transport.publish(reply, exchange=RESULTS_EXCHANGE, routing_key="nhc.completed")

    await transport.subscribe(NHC, nhc_adapter)
    await transport.subscribe(ORCHESTRATOR_QUEUE, orchestrator)
    await transport.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)

    [reply] = await orchestrator.wait_for(1)
    assert (reply.type, reply.birth_id, reply.step) == ("StepCompleted", sent.birth_id, sent.step)
    assert await transport.depth(CDC) == 0


async def test_the_envelope_arrives_intact(transport: ManagedTransport) -> None:
    inbox = Inbox()
    sent = command(
        attempt=3,
        occurred_at=datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        data={"record": {"name": "李伟", "weight_g": 3250, "twins": [1, 2]}, "note": None},
    )
    await transport.subscribe(NHC, inbox)
    await transport.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)

    [received] = await inbox.wait_for(1)
    assert received == sent
    assert received is not sent
    assert received.data is not sent.data


async def test_publishing_to_a_key_no_queue_binds_raises_unroutable(
    transport: ManagedTransport,
) -> None:
    with pytest.raises(Unroutable):
        await transport.publish(command(), exchange=COMMANDS_EXCHANGE, routing_key="nobody.submit")
    with pytest.raises(Unroutable):
        # `nhc.*` binds one word after `nhc`, not two.
        await transport.publish(command(), exchange=COMMANDS_EXCHANGE, routing_key="nhc.a.b")
    # And the transport still works afterwards.
    inbox = Inbox()
    await transport.subscribe(NHC, inbox)
    await transport.publish(command(), exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    await inbox.wait_for(1)


async def test_publish_many_reports_each_outcome_in_order(transport: ManagedTransport) -> None:
    inbox = Inbox()
    first, second = command(), command()
    outcomes = await transport.publish_many(
        [
            Outgoing(first, COMMANDS_EXCHANGE, SUBMIT_NHC),
            Outgoing(command(), COMMANDS_EXCHANGE, "nobody.submit"),
            Outgoing(second, COMMANDS_EXCHANGE, SUBMIT_NHC),
            # The same message twice (a relay re-sending a row) is fine.
            Outgoing(second, COMMANDS_EXCHANGE, SUBMIT_NHC),
            Outgoing(second, COMMANDS_EXCHANGE, "nobody.submit"),
        ]
    )
    assert [type(outcome) for outcome in outcomes] == [
        type(None),
        Unroutable,
        type(None),
        type(None),
        Unroutable,
    ]
    await transport.subscribe(NHC, inbox)
    received = await inbox.wait_for(3)
    assert sorted(e.message_id for e in received) == sorted(
        [first.message_id, second.message_id, second.message_id]
    )


async def test_a_handler_that_raises_is_redelivered_and_handled_once(
    transport: ManagedTransport,
) -> None:
    calls: list[Envelope] = []
    handled = asyncio.Event()

    async def flaky(envelope: Envelope) -> None:
        calls.append(envelope)
        if len(calls) == 1:
            raise RuntimeError("department timed out")
        handled.set()

    sent = command()
    await transport.subscribe(NHC, flaky)
    await transport.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)

    await wait(handled)
    assert calls == [sent, sent]
    await transport.close()
    assert len(calls) == 2
    assert await transport.depth(NHC) == 0
    assert await transport.dead_letters(NHC) == []


async def test_a_handler_that_always_raises_dead_letters_after_the_delivery_limit(
    transport: ManagedTransport,
) -> None:
    calls: list[Envelope] = []

    async def broken(envelope: Envelope) -> None:
        calls.append(envelope)
        raise RuntimeError("bug in the adapter")

    sent = command()
    await transport.subscribe(NHC, broken)
    await transport.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)

    async def dead_lettered() -> bool:
        return bool(await transport.dead_letters(NHC))

    await until(dead_lettered)
    assert len(calls) == DELIVERY_LIMIT
    assert await transport.dead_letters(NHC) == [sent]  # looking does not take them
    assert await transport.dead_letters(NHC) == [sent]

    async def crash(letters: list[DeadLetter]) -> None:
        raise RuntimeError("the store is away")

    with pytest.raises(RuntimeError):
        await transport.take_dead_letters(NHC, crash)
    assert await transport.dead_letters(NHC) == [sent]  # not stored: not taken
    kept: list[DeadLetter] = []

    async def keep(letters: list[DeadLetter]) -> None:
        kept.extend(letters)

    assert await transport.take_dead_letters(NHC, keep) == 1
    # With where it was first published, to be re-driven there.
    assert kept == [DeadLetter(sent, COMMANDS_EXCHANGE, SUBMIT_NHC)]
    assert await transport.dead_letters(NHC) == []
    assert await transport.take_dead_letters(NHC, keep) == 0
    assert await transport.depth(NHC) == 0


async def test_messages_published_before_anyone_subscribes_are_consumed_after(
    transport: ManagedTransport,
) -> None:
    sent = [command() for _ in range(3)]
    for envelope in sent:
        await transport.publish(envelope, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    await transport.publish(sent[0], exchange=RESULTS_EXCHANGE, routing_key="nhc.completed")
    assert await transport.depth(NHC) == 3
    assert await transport.depth(ORCHESTRATOR_QUEUE) == 1

    inbox = Inbox()
    await transport.subscribe(NHC, inbox)
    received = await inbox.wait_for(3)
    assert sorted(e.message_id for e in received) == sorted(e.message_id for e in sent)


async def test_prefetch_bounds_how_many_handlers_run_at_once(transport: ManagedTransport) -> None:
    prefetch, total = 2, 6
    running = peak = 0
    full, over, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
    done: list[str] = []

    async def slow(envelope: Envelope) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == prefetch:
            full.set()
        if running > prefetch:
            over.set()
        try:
            await release.wait()
        finally:
            running -= 1
        done.append(envelope.message_id)

    await transport.subscribe(NHC, slow, prefetch=prefetch)
    for _ in range(total):
        await transport.publish(command(), exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)

    try:
        await wait(full)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(over.wait(), QUIET_WINDOW)
    finally:
        release.set()  # else closing the transport would wait for these handlers forever

    async def all_done() -> bool:
        return len(done) == total

    await until(all_done)
    assert peak == prefetch


async def test_close_waits_for_a_handler_in_flight(transport: ManagedTransport) -> None:
    started, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow(envelope: Envelope) -> None:
        started.set()
        await release.wait()
        finished.set()

    await transport.subscribe(NHC, slow)
    await transport.publish(command(), exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    await wait(started)

    closing = asyncio.create_task(transport.close())
    try:
        done, _ = await asyncio.wait({closing}, timeout=QUIET_WINDOW)
        assert not done, "close returned while a handler was running"
    finally:
        release.set()
    await asyncio.wait_for(closing, TIMEOUT)
    assert finished.is_set()
    # The handler's ack went out before the connection closed: nothing comes back.
    assert await transport.depth(NHC) == 0


async def test_close_gives_up_on_a_stuck_handler_and_its_message_comes_back(
    transport: ManagedTransport,
) -> None:
    impatient = sibling(transport, drain_timeout=0.2)
    started = asyncio.Event()

    async def stuck(envelope: Envelope) -> None:
        started.set()
        await asyncio.Event().wait()

    await impatient.subscribe(NHC, stuck)
    await impatient.publish(command(), exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    await wait(started)
    await asyncio.wait_for(impatient.close(), TIMEOUT)

    assert await impatient.depth(NHC) == 1


# RabbitMQ only ---------------------------------------------------------------


async def rabbitmqctl(*args: str) -> str:
    # .ci/run installs RabbitMQ with its CLI: a missing one is a failure, not a skip.
    assert shutil.which("rabbitmqctl"), "needs rabbitmqctl (the broker's own CLI, as root)"
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "-q",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_queues_are_quorum_with_a_crash_limit_and_at_least_once_dead_lettering(
    rabbit: RabbitMQTransport,
) -> None:
    listed = json.loads(
        await rabbitmqctl("list_queues", "--formatter", "json", "name", "type", "arguments")
    )
    ours = {
        queue["name"]: (queue["type"], {name: value for name, _, value in queue["arguments"]})
        for queue in listed
        if queue["name"].startswith(rabbit.topology.prefix)
    }
    topology = rabbit.topology
    assert len(ours) == 2 * len(topology.queues)
    for spec in topology.queues:
        dead = dead_letter_queue(spec.name)
        assert ours[spec.name] == (
            "quorum",
            {
                "x-queue-type": "quorum",
                # The broker's net for a message that kills its consumer every
                # time; handler failures are counted by the transport.
                "x-delivery-limit": CRASH_LIMIT - 1,  # RabbitMQ allows limit + 1 deliveries
                "x-dead-letter-exchange": topology.dead_letter_exchange,
                "x-dead-letter-routing-key": dead,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        assert ours[dead] == ("quorum", {"x-queue-type": "quorum"})


async def test_a_message_whose_consumers_die_holding_it_is_handled_not_dead_lettered(
    rabbit: RabbitMQTransport,
) -> None:
    sent = command()
    await rabbit.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    for _ in range(DELIVERY_LIMIT + 2):
        # A consumer that dies holding the message: it closes its connection
        # with the message unacked (drain_timeout 0: no waiting for the handler),
        # so the broker takes it back and counts a delivery, as after `kill -9`.
        doomed = rabbitmq_transport(rabbit.topology, drain_timeout=0)
        holding = asyncio.Event()

        async def hold(envelope: Envelope, holding: asyncio.Event = holding) -> None:
            holding.set()
            await asyncio.Event().wait()

        await doomed.subscribe(NHC, hold)
        await wait(holding)
        await doomed.close()

    inbox = Inbox()
    await rabbit.subscribe(NHC, inbox)
    assert await inbox.wait_for(1) == [sent]
    assert await rabbit.dead_letters(NHC) == []
    await rabbit.close()
    assert await rabbit.depth(NHC) == 0


async def test_a_dead_letter_of_a_handler_that_failed_after_consumers_died_keeps_its_route(
    rabbit: RabbitMQTransport,
) -> None:
    sent = command()
    await rabbit.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    doomed = rabbitmq_transport(rabbit.topology, drain_timeout=0)
    holding = asyncio.Event()

    async def hold(envelope: Envelope) -> None:
        holding.set()
        await asyncio.Event().wait()

    await doomed.subscribe(NHC, hold)
    await wait(holding)
    await doomed.close()
    calls: list[Envelope] = []

    async def broken(envelope: Envelope) -> None:
        calls.append(envelope)
        raise RuntimeError("bug in the adapter")

    with capture_logs([merge_contextvars]) as logs:
        await rabbit.subscribe(NHC, broken)

        async def dead_lettered() -> bool:
            return bool(await rabbit.dead_letters(NHC))

        await until(dead_lettered)
    assert len(calls) == DELIVERY_LIMIT
    failed = [line for line in logs if line["event"] == "bus.handler.failed"]
    # The broker's count of deliveries and the handler's failures, both logged.
    assert [(line["delivery"], line["failures"]) for line in failed] == [(2, 0), (1, 1), (1, 2)]
    kept: list[DeadLetter] = []

    async def keep(letters: list[DeadLetter]) -> None:
        kept.extend(letters)

    assert await rabbit.take_dead_letters(NHC, keep) == 1
    assert kept == [DeadLetter(sent, COMMANDS_EXCHANGE, SUBMIT_NHC)]


async def test_a_queue_an_older_version_declared_with_another_delivery_limit_is_kept(
    rabbit: RabbitMQTransport,
) -> None:
    # The older version declared `x-delivery-limit: delivery_limit - 1`: the same
    # as a crash limit equal to the delivery limit. Its arguments cannot change.
    prefix = f"t{uuid4().hex[:8]}."
    older = rabbitmq_transport(Topology(prefix=prefix, delivery_limit=3, crash_limit=3))
    await older.start()
    await older.close()
    upgraded = rabbitmq_transport(
        Topology(prefix=prefix, delivery_limit=DELIVERY_LIMIT, crash_limit=CRASH_LIMIT)
    )
    try:
        with capture_logs() as logs:
            await upgraded.start()
        kept = {line["queue"] for line in logs if line["event"] == "bus.queue.older_delivery_limit"}
        assert kept == {spec.name for spec in upgraded.topology.queues}
        inbox = Inbox()
        await upgraded.subscribe(NHC, inbox)
        sent = command()
        await upgraded.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
        assert await inbox.wait_for(1) == [sent]
    finally:
        await upgraded.close()
        await upgraded.delete_topology()


async def connection_pid(name: str) -> str | None:
    listed = await rabbitmqctl("list_connections", "--no-table-headers", "pid", "client_properties")
    for line in listed.splitlines():
        pid, _, properties = line.partition("\t")
        if f'{{"connection_name","{name}"}}' in properties:
            return pid
    return None


async def test_consumers_resume_after_the_broker_closes_the_connection(
    rabbit: RabbitMQTransport,
) -> None:
    inbox = Inbox()
    await rabbit.subscribe(NHC, inbox)
    await rabbit.publish(command(), exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    await inbox.wait_for(1)

    before = await connection_pid(rabbit.connection_name)
    assert before is not None
    await rabbitmqctl("close_connection", before, "test: consumers must resume")

    # Publishing right after the close may hit the dying channel: like the
    # relay, publish again until the broker confirms.
    after_restart = command()

    async def published() -> bool:
        try:
            await rabbit.publish(after_restart, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
        except NotConfirmedError:
            return False
        return True

    await until(published)
    received = await inbox.wait_for(2)
    assert after_restart in received
    after = await connection_pid(rabbit.connection_name)
    assert after not in (None, before)


# Sealed messages (bus.sealed): the same on both transports.

OLD_KEY, NEW_KEY = Keyring.generate("k0"), Keyring.generate("k1")


async def test_what_waits_in_a_queue_is_sealed_and_handlers_get_it_open(
    transport: ManagedTransport,
) -> None:
    sealed = SealedTransport(transport, Keyring.parse(NEW_KEY))
    on_the_wire, opened = Inbox(), Inbox()
    await transport.subscribe(NHC, on_the_wire)  # what the broker holds
    await sealed.subscribe(CDC, opened)
    sent = command(data={"record": {"name": "李伟", "id_number": "110105199001011234"}})
    await sealed.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    await sealed.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=routing_key("cdc", "submit"))

    [raw] = await on_the_wire.wait_for(1)
    assert set(raw.data) == {"kid", "nonce", "ct"}
    assert raw.data["kid"] == "k1"
    body = raw.model_dump_json()
    assert "李伟" not in body
    assert "110105199001011234" not in body
    assert (raw.message_id, raw.type, raw.birth_id, raw.step) == (
        sent.message_id,
        sent.type,
        sent.birth_id,
        sent.step,
    )
    [received] = await opened.wait_for(1)
    assert received == sent


async def test_a_message_under_a_key_not_in_the_ring_is_dead_lettered_until_the_key_is_back(
    transport: ManagedTransport,
) -> None:
    writer = SealedTransport(transport, Keyring.parse(NEW_KEY))
    reader = SealedTransport(transport, Keyring.parse(OLD_KEY))  # not yet given the new key
    handled = Inbox()
    await reader.subscribe(NHC, handled)
    sent = command()
    await writer.publish(sent, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)

    async def dead_lettered() -> bool:
        return bool(await transport.dead_letters(NHC))

    await until(dead_lettered)
    assert handled.received == []  # never handed over unopened

    async def keep(letters: list[DeadLetter]) -> None:
        raise AssertionError("nothing opens, so nothing is handed over")

    with pytest.raises(SealingError, match="k1"):
        await reader.take_dead_letters(NHC, keep)
    assert len(await transport.dead_letters(NHC)) == 1  # left on the broker
    rotated = SealedTransport(transport, Keyring.parse(f"{OLD_KEY},{NEW_KEY}"))
    assert await rotated.dead_letters(NHC) == [sent]


async def test_a_batch_subscription_takes_what_waits_together_and_acks_it_after(
    transport: ManagedTransport,
) -> None:
    sent = [command() for _ in range(12)]
    for envelope in sent:
        await transport.publish(envelope, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    batches: list[list[Envelope]] = []

    async def handler(envelopes: list[Envelope]) -> None:
        batches.append(envelopes)

    await transport.subscribe_batch(NHC, handler, size=5, wait_s=0.05)

    async def all_handled() -> bool:
        return sum(len(b) for b in batches) == len(sent)

    await until(all_handled)
    assert [e for b in batches for e in b] == sent  # in order, each once
    assert max(len(b) for b in batches) == 5
    assert len(batches) < len(sent)
    await transport.close()
    assert await transport.depth(NHC) == 0
    assert await transport.dead_letters(NHC) == []


async def test_a_bad_message_in_a_batch_fails_alone_and_dead_letters(
    transport: ManagedTransport,
) -> None:
    bad = command()
    good = [command() for _ in range(4)]
    for envelope in [good[0], good[1], bad, good[2], good[3]]:
        await transport.publish(envelope, exchange=COMMANDS_EXCHANGE, routing_key=SUBMIT_NHC)
    applied: list[Envelope] = []
    tries_of_bad = 0

    async def handler(envelopes: list[Envelope]) -> None:
        nonlocal tries_of_bad
        if bad in envelopes:
            tries_of_bad += len(envelopes) == 1
            raise RuntimeError("refused")
        applied.extend(envelopes)

    await transport.subscribe_batch(NHC, handler, size=10, wait_s=0.05)

    async def dead_lettered() -> bool:
        return bool(await transport.dead_letters(NHC))

    await until(dead_lettered)
    assert sorted(e.message_id for e in applied) == sorted(e.message_id for e in good)
    assert tries_of_bad == DELIVERY_LIMIT  # alone, each try counted
    assert await transport.dead_letters(NHC) == [bad]
