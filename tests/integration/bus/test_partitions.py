"""Results partitioned by birth (issue 10, scale-out): on both transports each
birth's replies reach one partition queue, always the same; on RabbitMQ a
partition queue has one active consumer and hands over to the next in line
when it stops."""

import asyncio
from collections import defaultdict
from uuid import uuid4

import pytest

from bus.base import BatchHandler
from bus.inprocess import InProcessTransport
from bus.rabbitmq import RabbitMQTransport
from bus.topology import RESULTS_EXCHANGE, Topology
from contracts.envelope import Envelope
from tests.integration.bus.conftest import rabbitmq_transport

pytestmark = pytest.mark.integration

PARTITIONS = 4
TIMEOUT = 20.0


@pytest.fixture
def topology() -> Topology:
    return new_topology()


def new_topology() -> Topology:
    return Topology(prefix=f"t{uuid4().hex[:8]}.", partitions=PARTITIONS)


def reply(birth_id: str) -> Envelope:
    return Envelope(type="StepCompleted", birth_id=birth_id, step="birth_certificate")


class Consumers:
    """Batch handlers that record which queue (or consumer) got which birth."""

    def __init__(self) -> None:
        self.got: dict[str, list[str]] = defaultdict(list)
        self.count = 0
        self._changed = asyncio.Condition()

    def handler(self, name: str) -> BatchHandler:
        async def handle(envelopes: list[Envelope]) -> None:
            async with self._changed:
                self.got[name].extend(e.birth_id for e in envelopes)
                self.count += len(envelopes)
                self._changed.notify_all()

        return handle

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: self.count >= count)


async def test_each_births_replies_reach_one_partition_queue(
    transport: InProcessTransport | RabbitMQTransport,
) -> None:
    topology = transport.topology
    consumers = Consumers()
    for queue in topology.orchestrator_queues:
        await transport.subscribe_batch(queue, consumers.handler(queue))
    births = [uuid4().hex for _ in range(30)]
    for outcome in ("accepted", "completed", "callback"):
        for birth in births:
            await transport.publish(
                reply(birth), exchange=RESULTS_EXCHANGE, routing_key=f"nhc.{outcome}"
            )
    await consumers.wait_for(3 * len(births))

    where: dict[str, set[str]] = defaultdict(set)
    for queue, got in consumers.got.items():
        for birth in got:
            where[birth].add(queue)
    assert all(len(queues) == 1 for queues in where.values())
    assert len(consumers.got) > 1  # spread over the partitions
    for birth, [queue] in ((b, list(q)) for b, q in where.items()):
        assert queue == topology.orchestrator_queues[topology.partition(birth)]


async def test_a_partition_has_one_active_consumer_and_the_next_takes_over() -> None:
    topology = new_topology()
    first, second = rabbitmq_transport(topology), rabbitmq_transport(topology)
    queue = topology.orchestrator_queues[0]
    births = [b for b in (uuid4().hex for _ in range(200)) if topology.partition(b) == 0][:20]
    consumers = Consumers()
    try:
        await first.subscribe_batch(queue, consumers.handler("first"))
        await second.subscribe_batch(queue, consumers.handler("second"))
        for birth in births[:10]:
            await first.publish(reply(birth), exchange=RESULTS_EXCHANGE, routing_key="nhc.x")
        await consumers.wait_for(10)
        assert (len(consumers.got["first"]), len(consumers.got["second"])) == (10, 0)

        await first.close()  # the active one stops: the one waiting in line goes on
        for birth in births[10:]:
            await second.publish(reply(birth), exchange=RESULTS_EXCHANGE, routing_key="nhc.x")
        await consumers.wait_for(20)
        assert consumers.got["second"] == births[10:]
    finally:
        await first.close()
        await second.close()
        await second.delete_topology()
