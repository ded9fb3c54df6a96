"""`kill -9` of `birthlink up` mid-flight, then a start again: work resumes at
once. On the in-process bus the queued commands died with the process and are
sent again at start; on RabbitMQ the broker kept them. Either way every birth
completes within a minute and no department holds a record twice."""

import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest

from bus.rabbitmq import RabbitMQTransport
from bus.topology import Topology
from tests.support.servers import wait_for
from tests.support.stack import AMQP_URL, PG_DSN, postgres_schema
from tests.support.up import Up, post_under_way, running_up, statuses

pytestmark = pytest.mark.e2e

BIRTHS = 40


@asynccontextmanager
async def up_on(kind: str, tmp_path: Path) -> AsyncIterator[Up]:
    """`birthlink up` on embedded defaults, or on RabbitMQ and PostgreSQL."""
    async with AsyncExitStack() as stack:
        env: dict[str, str] = {}
        if kind == "rabbitmq":
            _, schema = await stack.enter_async_context(postgres_schema())
            prefix = f"r{uuid4().hex[:8]}."
            topology = RabbitMQTransport(AMQP_URL, Topology(prefix=prefix))
            stack.push_async_callback(topology.delete_topology)
            env = {
                "BIRTHLINK_DATABASE_URL": PG_DSN,
                "BIRTHLINK_DATABASE_SCHEMA": schema,
                "BIRTHLINK_AMQP_URL": AMQP_URL,
                "BIRTHLINK_AMQP_PREFIX": prefix,
            }
        yield await stack.enter_async_context(running_up(tmp_path, env))


@pytest.mark.parametrize("kind", ["inprocess", "rabbitmq"])
async def test_kill_9_of_birthlink_up_mid_flight_and_a_start_again_completes_every_birth(
    tmp_path: Path, kind: str
) -> None:
    async with up_on(kind, tmp_path) as up:
        await up.faults(latency_ms=100)  # slow enough to be killed mid-flight
        async with up.client() as http:
            ids = await post_under_way(http, random.Random(13), BIRTHS)
            before = await statuses(http, ids)
            await up.kill()
            assert before.count("completed") < BIRTHS  # it was mid-flight
            await up.start()

            async def all_completed() -> bool:
                return await statuses(http, ids) == ["completed"] * BIRTHS

            await wait_for(all_completed, within=60, interval=0.5, what="every birth completed")
        await up.assert_one_record_per_birth(ids)
