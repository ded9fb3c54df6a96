"""An idle system does not loop queries: with production settings, a running
stack on RabbitMQ + PostgreSQL, its births done, commits at most once a second,
counted by PostgreSQL itself on a database of its own."""

import asyncio
import random
from pathlib import Path

import pytest

from birthlink.samples import birth_event
from gateway.settings import GatewaySettings
from tests.support.stack import commits, postgres_database, running_stack

pytestmark = pytest.mark.integration

IDLE_S = 10
SETTLE_S = 15


async def test_an_idle_stack_commits_at_most_once_a_second(tmp_path: Path) -> None:
    async with postgres_database() as dsn:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        datname = dsn.rsplit("/", 1)[1]
        shipped = GatewaySettings.model_fields  # not the quick intervals of other tests
        quick = ("relay_interval_s", "sweep_interval_s")
        defaults = {name: shipped[name].default for name in quick}
        async with running_stack(
            "rabbitmq-postgres", tmp_path, store=(url, None), **defaults
        ) as stack:
            rng = random.Random(3)
            posted = [await stack.post(birth_event(rng)) for _ in range(2)]
            for response in posted:
                birth = await stack.wait_until_final(response.json()["birth_id"])
                assert birth["status"] == "completed"
            # An idle backend reports its counts up to 10 s late (PostgreSQL 15):
            # let those of the births' work come in before counting.
            await asyncio.sleep(SETTLE_S)
            before = await commits(datname)
            await asyncio.sleep(IDLE_S)
            idle = await commits(datname) - before
        print(f"idle: {idle} commits in {IDLE_S} s")
        assert idle <= IDLE_S
