"""End-to-end throughput and latency, beside the raw RabbitMQ fan-out limit.

Both are measured in this run, on this machine, on RabbitMQ + PostgreSQL:

1. baseline: 5 commands and 5 replies per birth through the RabbitMQ transport
   alone (quorum queues, persistent messages, publisher confirms), with
   consumers that do nothing but reply: the ceiling the broker and client set;
2. birthlink: births posted over HTTP to the gateway, through the outbox,
   RabbitMQ, the five adapters and the sandbox departments over HTTP, to the
   last step completed; latency is from acceptance to the last step.

`python -m bench.e2e --births 200` (also `--kind inprocess-sqlite`).
"""

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import httpx
from sqlalchemy import func, select

from birthlink import logs
from birthlink.samples import birth_event
from bus.base import Outgoing
from bus.rabbitmq import RabbitMQTransport
from bus.topology import (
    COMMANDS_EXCHANGE,
    ORCHESTRATOR_QUEUE,
    RESULTS_EXCHANGE,
    Topology,
    department_queue,
)
from contracts.catalogue import BUILTIN_DEPARTMENTS as DEPARTMENTS
from contracts.envelope import Envelope
from gateway.bootstrap import database_for
from gateway.settings import GatewaySettings
from gateway.store.db import Database
from gateway.store.tables import Birth
from tests.support.processes import deployment
from tests.support.stack import AMQP_URL, FINAL, running_stack

# How long the sandbox's household review and card making take (simulated).
LATER_DELAY_S = 1.0


async def raw_fanout(births: int) -> float:
    """Births per second of bare fan-out: publish 5, each consumer replies, count replies."""
    transport = RabbitMQTransport(AMQP_URL, Topology(prefix=f"bench{uuid4().hex[:6]}."))
    await transport.start()
    done = asyncio.Event()
    replies = 0

    async def department(envelope: Envelope) -> None:
        reply = Envelope(type="StepCompleted", birth_id=envelope.birth_id, data={})
        await transport.publish(reply, exchange=RESULTS_EXCHANGE, routing_key="x.completed")

    async def orchestrator(_envelope: Envelope) -> None:
        nonlocal replies
        replies += 1
        if replies == births * len(DEPARTMENTS):
            done.set()

    try:
        for dept in DEPARTMENTS:
            await transport.subscribe(department_queue(dept), department, prefetch=100)
        await transport.subscribe(ORCHESTRATOR_QUEUE, orchestrator, prefetch=200)
        started = time.perf_counter()
        batch = [
            Outgoing(Envelope(type="Command", birth_id=f"b{i}"), COMMANDS_EXCHANGE, f"{d}.submit")
            for i in range(births)
            for d in DEPARTMENTS
        ]
        for chunk in range(0, len(batch), 500):
            await transport.publish_many(batch[chunk : chunk + 500])
        await done.wait()
        return births / (time.perf_counter() - started)
    finally:
        await transport.close()
        await transport.delete_topology()


async def system(kind: str, births: int, concurrency: int) -> tuple[float, list[float]]:
    """Births per second through the whole system, and each birth's latency (s)."""
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "processes":
            async with deployment(Path(tmp) / "logs", later_delay_s=LATER_DELAY_S) as deploy:
                headers = {"Authorization": f"Bearer {deploy.hospital_key}"}
                async with httpx.AsyncClient(
                    base_url=deploy.gateway_url, headers=headers, timeout=60
                ) as http:
                    database = database_for(
                        GatewaySettings(
                            database_url=deploy.env["BIRTHLINK_DATABASE_URL"],
                            database_schema=deploy.env["BIRTHLINK_DATABASE_SCHEMA"],
                        )
                    )
                    try:
                        return await _measure(http, database, births, concurrency)
                    finally:
                        await database.dispose()
        async with running_stack(kind, Path(tmp), later_delay_s=LATER_DELAY_S) as stack:
            return await _measure(stack.hospital, stack.runtime.db, births, concurrency)


async def _measure(
    http: httpx.AsyncClient, db: Database, births: int, concurrency: int
) -> tuple[float, list[float]]:
    rng = random.Random(1)
    events = [birth_event(rng) for _ in range(births)]
    gate = asyncio.Semaphore(concurrency)

    async def post(event: dict[str, object]) -> None:
        async with gate:
            response = await http.post("/v1/births", json=event)
            if response.status_code != 202:
                raise RuntimeError(response.text)

    started = time.perf_counter()
    await asyncio.gather(*(post(e) for e in events))
    while True:
        async with db.read() as session:
            final = await session.scalar(
                select(func.count()).select_from(Birth).where(Birth.status.in_(FINAL))
            )
        if final == births:
            break
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    async with db.read() as session:
        rows = (await session.scalars(select(Birth))).all()
    bad = [b.status for b in rows if b.status != "completed"]
    if bad:
        raise RuntimeError(f"{len(bad)} births did not complete: {set(bad)}")
    return births / elapsed, [(b.updated_at - b.created_at).total_seconds() for b in rows]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--births", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--kind",
        default="processes",
        choices=("processes", "rabbitmq-postgres", "inprocess-sqlite"),
    )
    args = parser.parse_args()
    logs.configure(json=True, level="WARNING")
    baseline = await raw_fanout(args.births * 5)
    throughput, latencies = await system(args.kind, args.births, args.concurrency)
    print(f"raw RabbitMQ fan-out (5 commands + 5 replies a birth): {baseline:8.1f} births/s")
    print(
        f"birthlink end to end on {args.kind} ({args.births} births): "
        f"{throughput:8.1f} births/s = {throughput / baseline:.1%} of raw fan-out"
    )
    print(
        f"latency acceptance -> last step: p50 {percentile(latencies, 50):.2f} s, "
        f"p95 {percentile(latencies, 95):.2f} s, max {max(latencies):.2f} s "
        f"(with the sandbox's simulated {LATER_DELAY_S} s review and card making)"
    )


if __name__ == "__main__":
    asyncio.run(main())
