"""Does the cost of a birth grow with the births a store has finished?

On RabbitMQ + PostgreSQL, in a database of its own, one run measures the
whole system (gateway, orchestrator, relay, timers, adapters and the sandbox
departments in one process, as embedded) twice: on an empty store, then after
loading finished births in bulk (COPY: each birth with its event version, its
five completed steps and its history lines). Each measurement is its own
process, so its memory is its own: intake latency (POST to 202), step latency
(first dispatch to completion), a birth from acceptance to completion, and the
process's peak RSS.

`python -m bench.growth --finished 1000000 --births 150`.
"""

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select

from birthlink import logs
from birthlink.samples import birth_event
from contracts.catalogue import builtin_registry
from contracts.sealing import Keyring
from gateway.settings import DEV_DATA_KEYS
from gateway.store import crypto
from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.store.tables import Birth, StepRow
from tests.support.stack import postgres_database, running_stack

CHUNK = 50_000


def q(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1] if len(values) > 1 else values[0]


async def measure(url: str, births: int, concurrency: int) -> dict[str, float]:
    """One measurement, in this process: post `births`, wait for them all."""
    logs.configure(json=True, level="WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack("rabbitmq-postgres", Path(tmp), store=(url, None)) as stack:
            rng = random.Random()  # other births than the other measurement's
            events = [birth_event(rng) for _ in range(births)]
            gate = asyncio.Semaphore(concurrency)
            intake: list[float] = []

            async def post(event: dict[str, Any]) -> str:
                async with gate:
                    started = time.perf_counter()
                    response = await stack.post(event)
                    intake.append(time.perf_counter() - started)
                    if response.status_code != 202:
                        raise RuntimeError(response.text)
                    return str(response.json()["birth_id"])

            ids = await asyncio.gather(*(post(e) for e in events))
            for birth_id in ids:
                birth = await stack.wait_until_final(birth_id, within=300)
                if birth["status"] != "completed":
                    raise RuntimeError(f"{birth_id} ended {birth['status']}")
            async with stack.runtime.db.read() as session:
                steps = (
                    await session.execute(
                        select(StepRow.started_at, StepRow.finished_at).where(
                            StepRow.birth_id.in_(ids), StepRow.state == "completed"
                        )
                    )
                ).all()
                rows = (
                    await session.execute(
                        select(Birth.created_at, Birth.updated_at).where(Birth.id.in_(ids))
                    )
                ).all()
    step = [(f - s).total_seconds() for s, f in steps if s and f]
    whole = [(u - c).total_seconds() for c, u in rows]
    status = await asyncio.to_thread(Path("/proc/self/status").read_text)
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return {
        "intake_p50_ms": q(intake, 50) * 1000,
        "intake_p99_ms": q(intake, 99) * 1000,
        "step_p50_ms": q(step, 50) * 1000,
        "step_p99_ms": q(step, 99) * 1000,
        "birth_p50_s": q(whole, 50),
        "rss_peak_mb": peak / 1024,
    }


def measured(url: str, births: int, concurrency: int) -> dict[str, float]:
    """`measure` in a process of its own."""
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.growth",
            "--measure",
            url,
            "--births",
            str(births),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
    )
    if ran.returncode != 0:
        raise RuntimeError(ran.stderr[-3000:])
    figures: dict[str, float] = json.loads(ran.stdout.strip().splitlines()[-1])
    return figures


async def load(dsn: str, finished: int, history: int) -> None:
    """COPY `finished` completed births into the store, CHUNK births at a time."""
    keyring = Keyring.parse(DEV_DATA_KEYS)
    event = birth_event(random.Random(1))
    sealed = {
        name: json.dumps(keyring.seal(doc, context=name))
        for name, doc in (
            ("births.event", event),
            ("birth_versions.event", event),
            ("steps.output", {"number": "X"}),
            ("history.detail", None),
        )
        if doc is not None
    }
    steps = [(spec.name, spec.department) for spec in builtin_registry()]
    then = datetime.now(UTC) - timedelta(days=365)
    conn = await asyncpg.connect(dsn)
    try:
        for start in range(0, finished, CHUNK):
            numbers = range(start, min(start + CHUNK, finished))
            ids = [f"{n:032x}" for n in numbers]
            await conn.copy_records_to_table(
                "births",
                columns=[
                    "id",
                    "hospital_code",
                    "hospital_record_id",
                    "tracking_code",
                    "born_at",
                    "status",
                    "event",
                    "body_hash",
                    "event_version",
                    "version",
                    "history_seq",
                    "created_at",
                    "updated_at",
                ],
                records=[
                    (
                        i,
                        "H33010600001",
                        f"bulk-{i}",
                        f"G{n:013d}",
                        then,
                        "completed",
                        sealed["births.event"],
                        "0" * 64,
                        1,
                        12,
                        history,
                        then,
                        then,
                    )
                    for n, i in zip(numbers, ids, strict=True)
                ],
            )
            await conn.copy_records_to_table(
                "birth_versions",
                columns=["birth_id", "event_version", "event", "actor", "created_at"],
                records=[(i, 1, sealed["birth_versions.event"], "hospital", then) for i in ids],
            )
            await conn.copy_records_to_table(
                "steps",
                columns=[
                    "birth_id",
                    "step",
                    "department",
                    "state",
                    "attempt",
                    "idempotency_key",
                    "department_ref",
                    "output",
                    "started_at",
                    "finished_at",
                    "updated_at",
                    "data_version",
                ],
                records=[
                    (
                        i,
                        step,
                        dept,
                        "completed",
                        1,
                        f"{i}:{step}",
                        f"R{i}{dept}",
                        sealed["steps.output"],
                        then,
                        then,
                        then,
                        1,
                    )
                    for i in ids
                    for step, dept in steps
                ],
            )
            await conn.copy_records_to_table(
                "history",
                columns=["birth_id", "seq", "at", "actor", "step", "from_state", "to_state"],
                records=[
                    (i, seq, then, "department", None, "in_progress", "completed")
                    for i in ids
                    for seq in range(1, history + 1)
                ],
            )
        # As a store that has been running: statistics and the visibility map up to
        # date, so that autovacuum does not work on the load during the measurement.
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=5, help="history lines per loaded birth")
    parser.add_argument("--births", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one measurement (a child)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(await measure(args.measure, args.births, args.concurrency)))
        return
    async with postgres_database() as dsn:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        db = Database(url)
        crypto.bind(db, Keyring.parse(DEV_DATA_KEYS))
        await migrate(db)
        await db.dispose()
        empty = await asyncio.to_thread(measured, url, args.births, args.concurrency)
        started = time.perf_counter()
        await load(dsn, args.finished, args.history)
        loading = time.perf_counter() - started
        full = await asyncio.to_thread(measured, url, args.births, args.concurrency)
    print(
        f"loaded {args.finished:,} finished births (COPY) in {loading:.0f} s; "
        f"{args.births} births measured on each store"
    )
    print(f"{'':24}{'empty':>10}{'loaded':>10}{'change':>9}")
    for key in empty:
        change = full[key] / empty[key] - 1 if empty[key] else 0.0
        print(f"{key:24}{empty[key]:10.1f}{full[key]:10.1f}{change:+9.1%}")


if __name__ == "__main__":
    asyncio.run(main())
