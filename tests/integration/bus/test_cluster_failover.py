"""A RabbitMQ node dies under the bus (issue 13): on a private three-node cluster
(never the machine's broker), the transport connected to the first node keeps
working when that node is killed with `kill -9`: it reconnects to another node,
its consumer resumes, and every message the broker confirmed, before the kill
and after, reaches the handler. The quorum queue's replicas keep them. The
node then comes back into the cluster."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest

from bus.base import BusError
from bus.rabbitmq import RabbitMQTransport
from bus.topology import COMMANDS_EXCHANGE, Topology, department_queue
from contracts.commands import routing_key
from contracts.envelope import Envelope
from tests.support.rabbit_cluster import RabbitCluster
from tests.support.servers import wait_for

pytestmark = pytest.mark.integration

NHC = department_queue("nhc")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RabbitCluster]:
    cluster = RabbitCluster(size=3)
    try:
        yield cluster.up()
    finally:
        cluster.stop_all()


@pytest.fixture
async def transport(cluster: RabbitCluster) -> AsyncIterator[RabbitMQTransport]:
    bus = RabbitMQTransport(
        cluster.url, Topology(prefix=f"t{uuid4().hex[:8]}."), reconnect_interval=0.3
    )
    await bus.start()
    yield bus
    await bus.close()


async def publish_confirmed(bus: RabbitMQTransport, envelope: Envelope) -> None:
    """Publish until the broker confirms, as the relay does (the row stays unpublished)."""
    while True:
        try:
            await bus.publish(
                envelope, exchange=COMMANDS_EXCHANGE, routing_key=routing_key("nhc", "submit")
            )
            return
        except BusError:
            await asyncio.sleep(0.2)


async def test_the_bus_survives_the_death_of_the_node_it_is_connected_to(
    cluster: RabbitCluster, transport: RabbitMQTransport
) -> None:
    received: set[str] = set()

    async def handler(envelope: Envelope) -> None:
        received.add(envelope.message_id)

    await transport.subscribe(NHC, handler)
    before = [
        Envelope(type="SubmitStep", birth_id=f"b{i}", step="birth_certificate") for i in range(20)
    ]
    for envelope in before:
        await publish_confirmed(transport, envelope)

    async def got(envelopes: list[Envelope]) -> bool:
        return {e.message_id for e in envelopes} <= received

    await wait_for(lambda: got(before), within=30, what="the messages before the kill")

    first = cluster.nodes[0]
    cluster.kill(first)  # the node the transport is connected to
    assert first.name not in cluster.running()
    after = [
        Envelope(type="SubmitStep", birth_id=f"a{i}", step="birth_certificate") for i in range(20)
    ]
    await asyncio.wait_for(
        asyncio.gather(*(publish_confirmed(transport, e) for e in after)), timeout=60
    )
    await wait_for(lambda: got(after), within=60, what="the messages after the kill")
    assert await transport.ready()

    cluster.start(first)
    assert cluster.running() == {n.name for n in cluster.nodes}
