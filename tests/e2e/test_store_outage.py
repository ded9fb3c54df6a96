"""A PostgreSQL outage is not a poison message: `birthlink up` on RabbitMQ and a
private PostgreSQL, the departments slowed, 40 births in flight, and the
database stopped for 10 s. The consumers hold their messages meanwhile (no
delivery attempt spent, nothing dead-lettered), the API answers `503` with
`Retry-After`, and once the database is back every birth completes by itself."""

import asyncio
import os
import random
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import pytest

from birthlink.installation import generate
from birthlink.samples import birth_event
from bus.rabbitmq import RabbitMQTransport
from bus.topology import NOTIFIER_QUEUE, ORCHESTRATOR_QUEUE, Topology, department_queue
from contracts.catalogue import BUILTIN_DEPARTMENTS
from tests.support.private_infra import private_postgres
from tests.support.processes import BIRTHLINK
from tests.support.servers import wait_for
from tests.support.stack import AMQP_URL
from tests.support.up import post_under_way, running_up, statuses

pytestmark = pytest.mark.e2e

BIRTHS = 40
OUTAGE_S = 10


async def completed_at(http: httpx.AsyncClient, birth_id: str) -> datetime:
    events = (await http.get(f"/v1/births/{birth_id}/history")).json()["events"]
    [done] = [e for e in events if e["step"] is None and e["to"] == "completed"]
    return datetime.fromisoformat(done["at"])


async def test_a_10_s_database_outage_mid_flight_loses_nothing_and_answers_503(
    tmp_path: Path,
) -> None:
    prefix = f"o{uuid4().hex[:8]}."
    broker = RabbitMQTransport(AMQP_URL, Topology(prefix=prefix))
    env = {"BIRTHLINK_AMQP_URL": AMQP_URL, "BIRTHLINK_AMQP_PREFIX": prefix}
    try:
        async with (
            private_postgres() as pg,
            running_up(tmp_path, {**env, "BIRTHLINK_DATABASE_URL": pg.dsn}) as up,
        ):
            await up.faults(latency_ms=300)
            rng = random.Random(31)
            async with up.client() as http:
                ids = await post_under_way(http, rng, BIRTHS)
                await pg.stop()
                late = birth_event(rng)  # posted during the outage, and again after
                answers: list[httpx.Response] = []
                deadline = asyncio.get_running_loop().time() + OUTAGE_S
                while asyncio.get_running_loop().time() < deadline:
                    answers.append(await http.get(f"/v1/births/{ids[0]}"))
                    answers.append(await http.post("/v1/births", json=late))
                    await asyncio.sleep(0.2)
                await pg.start()
                back = datetime.now(UTC)

                assert answers
                for answer in answers:
                    assert answer.status_code == 503, answer.text
                    assert answer.headers["content-type"] == "application/problem+json"
                    assert int(answer.headers["retry-after"]) > 0

                async def accepted_late() -> str | None:
                    answer = await http.post("/v1/births", json=late)
                    return str(answer.json()["birth_id"]) if answer.is_success else None

                ids.append(await wait_for(accepted_late, within=30, interval=0.5))

                async def all_completed() -> bool:
                    return await statuses(http, ids) == ["completed"] * len(ids)

                await wait_for(all_completed, within=60, interval=0.5, what="every birth done")
                finished = [await completed_at(http, i) for i in ids[:BIRTHS]]
                assert sum(at > back for at in finished) > 0  # it was mid-flight
            await up.assert_one_record_per_birth(ids)
            for queue in (
                ORCHESTRATOR_QUEUE,
                NOTIFIER_QUEUE,
                *map(department_queue, BUILTIN_DEPARTMENTS),
            ):
                assert await broker.dead_letters(queue) == [], queue
            connection = await asyncpg.connect(pg.dsn)
            try:
                assert await connection.fetchval("SELECT count(*) FROM dead_letters") == 0
            finally:
                await connection.close()
            log = await asyncio.to_thread((up.logs / "up.log").read_text)
            # The orchestrator held what came during the outage; no handler failed
            # (so no delivery was spent, nothing redelivered).
            assert "store.unavailable.holding" in log
            assert "bus.handler.failed" not in log
            assert "api.unexpected_error" not in log
    finally:
        await broker.delete_topology()


async def test_a_process_started_while_the_database_is_down_waits_for_it(tmp_path: Path) -> None:
    prefix = f"o{uuid4().hex[:8]}."
    env = {
        **os.environ,
        **generate(),  # the production roles refuse the development keys
        "BIRTHLINK_AMQP_URL": AMQP_URL,
        "BIRTHLINK_AMQP_PREFIX": prefix,
    }
    log_path = tmp_path / "relay.log"
    try:
        async with private_postgres() as pg:
            await pg.stop()
            with log_path.open("wb") as log:
                relay = await asyncio.create_subprocess_exec(
                    *BIRTHLINK, "--json-logs", "relay",
                    env={**env, "BIRTHLINK_DATABASE_URL": pg.dsn}, stdout=log, stderr=log,
                )  # fmt: skip
            try:

                async def logged(event: str) -> bool:
                    return f'"{event}"' in await asyncio.to_thread(log_path.read_text)

                await wait_for(lambda: logged("store.unavailable.waiting"), within=30)
                assert relay.returncode is None  # still there, waiting
                await pg.start()
                await wait_for(lambda: logged("gateway.started"), within=30, what="relay up")
                assert relay.returncode is None
            finally:
                relay.terminate()
                await relay.wait()
    finally:
        await RabbitMQTransport(AMQP_URL, Topology(prefix=prefix)).delete_topology()
