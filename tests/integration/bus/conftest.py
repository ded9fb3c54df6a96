"""What the bus suites share: a transport of each kind on the module's
`topology` (a fixture each module defines, with a prefix of its own)."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bus.inprocess import InProcessTransport
from bus.rabbitmq import RabbitMQTransport
from bus.topology import Topology

AMQP_URL = os.environ.get("BIRTHLINK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def rabbitmq_transport(topology: Topology, **options: float) -> RabbitMQTransport:
    return RabbitMQTransport(
        AMQP_URL,
        topology,
        connection_name=f"birthlink-test-{topology.prefix}",
        reconnect_interval=0.5,
        **options,
    )


@asynccontextmanager
async def started_rabbitmq(topology: Topology) -> AsyncIterator[RabbitMQTransport]:
    """A started RabbitMQ transport; closed and its topology deleted after."""
    rabbit = rabbitmq_transport(topology)
    try:
        await rabbit.start()
        yield rabbit
    finally:
        await rabbit.close()
        await rabbit.delete_topology()


@pytest.fixture(params=["inprocess", "rabbitmq"])
async def transport(
    request: pytest.FixtureRequest, topology: Topology
) -> AsyncIterator[InProcessTransport | RabbitMQTransport]:
    """The same tests on both transports, each on a fresh `topology`."""
    if request.param == "inprocess":
        in_process = InProcessTransport(topology)
        yield in_process
        await in_process.close()
        return
    async with started_rabbitmq(topology) as rabbit:
        yield rabbit
