"""Database commits and SQL statements per birth, counted by PostgreSQL and by
SQLAlchemy, on RabbitMQ + PostgreSQL with the whole stack in this process.

The store gets a database of its own so that `pg_stat_database.xact_commit`
counts nothing else; the count of this script's own polling is taken off.

`python -m bench.commits --births 60`
"""

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
from sqlalchemy import event

ADMIN_DSN = os.environ.get("BIRTHLINK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _xact_commit(dsn: str, name: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        value = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", name
        )
        return int(value or 0)
    finally:
        await conn.close()


async def measure(births: int, concurrency: int) -> None:
    name = f"bl_bench_{uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    os.environ["BIRTHLINK_TEST_PG_DSN"] = dsn
    # Imported after the DSN is set: the test support reads it on import.
    from birthlink import logs
    from birthlink.samples import birth_event
    from tests.support.stack import running_stack

    logs.configure(json=True, level="WARNING")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with running_stack(
                "rabbitmq-postgres",
                Path(tmp),
                later_delay_s=1.0,  # as bench.e2e: departments take their time
            ) as stack:
                # The deployed defaults, not the tests' fast loops.
                stack.runtime.relay.interval_s = 0.2
                stack.runtime.sweeper.interval_s = 1.0
                statements = 0

                def count(*_args: Any) -> None:
                    nonlocal statements
                    statements += 1

                event.listen(stack.runtime.db.writer.sync_engine, "before_cursor_execute", count)
                transactions = 0

                def ended(*_args: Any) -> None:
                    nonlocal transactions
                    transactions += 1

                # A cross-check of PostgreSQL's count: every transaction we end.
                for ending in ("commit", "rollback"):
                    event.listen(stack.runtime.db.writer.sync_engine, ending, ended)
                origins: Counter[str] = Counter()
                if os.environ.get("BENCH_ORIGINS"):  # which code opens the transactions
                    db = stack.runtime.db
                    for kind in ("write", "read"):
                        opened = getattr(db, kind)

                        def traced(opened: Any = opened, kind: str = kind) -> Any:
                            caller = sys._getframe(1)
                            origins[f"{kind} {caller.f_code.co_qualname}"] += 1
                            return opened()

                        setattr(db, kind, traced)
                sizes: list[tuple[int, float]] = []
                if os.environ.get("BENCH_ORIGINS"):  # how big and slow the batches are
                    uow = stack.runtime.uow
                    batch = uow.change_batch

                    async def timed(items: Any) -> Any:
                        began = time.perf_counter()
                        try:
                            return await batch(items)
                        finally:
                            sizes.append((len(items), time.perf_counter() - began))

                    uow.change_batch = timed  # type: ignore[method-assign]
                rng = random.Random(1)
                events = [birth_event(rng) for _ in range(births)]
                gate = asyncio.Semaphore(concurrency)

                async def post(data: dict[str, object]) -> None:
                    async with gate:
                        response = await stack.post(data)
                        assert response.status_code == 202, response.text

                # PostgreSQL 15 reports an idle backend's counts after 10 s.
                await asyncio.sleep(11)
                before = await _xact_commit(ADMIN_DSN, name)
                statements = transactions = 0
                started = time.perf_counter()
                await asyncio.gather(*(post(e) for e in events))
                # Polled on a connection of our own: each poll is one commit, taken off.
                watcher = await asyncpg.connect(dsn)
                schema = stack.runtime.db.schema
                polls = 0
                try:
                    while True:
                        polls += 1
                        final = await watcher.fetchval(
                            f'SELECT count(*) FROM "{schema}".births'
                            " WHERE status IN ('completed', 'failed')"
                        )
                        if final == births:
                            break
                        await asyncio.sleep(0.2)
                finally:
                    await watcher.close()
                elapsed = time.perf_counter() - started
                print(f"{births} births in {elapsed:.1f} s ({births / elapsed:.1f} births/s)")
                print(f"SQL statements per birth (SQLAlchemy): {statements / births:.2f}")
                print(f"transactions per birth (SQLAlchemy): {transactions / births:.2f}")
                if sizes:
                    mean = sum(n for n, _ in sizes) / len(sizes)
                    slowest = max(t for _, t in sizes)
                    print(f"  {len(sizes)} batches, {mean:.1f} items each, slowest {slowest:.3f} s")
                for origin, n in origins.most_common():
                    print(f"  transactions from {origin}: {n / births:.2f} per birth")
        # Read once every backend has gone (and so reported its counts); the
        # stack's own shut-down and our polls are the few not taken off.
        await asyncio.sleep(2)  # a closed connection's backend reports as it exits
        after = await _xact_commit(ADMIN_DSN, name)
        print(f"xact_commit before {before}, after {after}, polls {polls}")
        print(f"commits per birth (pg_stat_database): {(after - before - polls) / births:.2f}")
    finally:
        await admin.close()
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--births", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(measure(args.births, args.concurrency))


if __name__ == "__main__":
    main()
