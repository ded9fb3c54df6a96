"""`python -m bench.chaos`: births through the production layout while everything
fails, and Jepsen-style counts at the end (issue 13).

On private infrastructure (a three-node RabbitMQ cluster and a PostgreSQL of its
own, never the machine's), every role runs as its own process (two gateways,
the orchestrator, the relay, the notifier, an adapter per department) and the
adapters reach the sandbox departments through a TCP proxy that adds latency
and resets connections. While births are posted, it:

- `kill -9`s a random birthlink process every few seconds and starts it again;
- kills one RabbitMQ node and brings it back, restarts PostgreSQL, and takes a
  department down (503) for a while: once, then again every `--round` seconds
  while births are posted.

At the end it counts births accepted, completed, lost (accepted, then unknown),
stuck past the deadline; duplicate department records (two for one birth at one
department); department records of no accepted birth; dead letters; p50/p99
from POST to completion; and lists the faults with their times.
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from birthlink.samples import birth_event
from contracts.catalogue import BUILTIN_DEPARTMENTS as DEPARTMENTS
from tests.support.private_infra import PrivatePostgres, private_postgres
from tests.support.processes import Deployment, deployment
from tests.support.rabbit_cluster import RabbitCluster
from tests.support.servers import free_port

FINAL = {"completed", "cancelled", "action_required"}


@dataclass
class Plan:
    """What the run does; times in seconds from the first POST."""

    births: int = 200
    rate: float = 10.0  # births posted per second
    kill_every: float = 4.0  # a birthlink process killed this often
    node_down_s: float = 10.0
    postgres_down_s: float = 5.0
    department_down_s: float = 60.0
    round_s: float = 120.0  # the infrastructure's faults come again this often
    latency_ms: int = 20  # at most, added by the proxy to each connection
    reset_rate: float = 0.03  # connections the proxy resets
    deadline_s: float = 240.0  # a birth not final by then is stuck
    orchestrators: int = 1  # several share the results' partitions (and stand by)
    seed: int = 1


@dataclass
class Report:
    accepted: int = 0
    completed: int = 0
    lost: int = 0
    stuck: int = 0
    duplicates: int = 0
    orphans: int = 0
    dead_letters: int = 0
    server_errors: int = 0  # answers 500: a fault must give 503 and Retry-After
    exited: list[str] = field(default_factory=list)  # processes that ended on their own
    p50_s: float = 0.0
    p99_s: float = 0.0
    faults: list[tuple[float, str]] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        head = [
            f"births accepted   {self.accepted}",
            f"completed         {self.completed}",
            f"lost              {self.lost}",
            f"stuck             {self.stuck}",
            f"duplicate records {self.duplicates}",
            f"orphan records    {self.orphans}",
            f"dead letters      {self.dead_letters}",
            f"answers 500       {self.server_errors}",
            f"processes exited  {len(self.exited)} {' '.join(self.exited)}".rstrip(),
            f"POST→completed    p50 {self.p50_s:.1f} s, p99 {self.p99_s:.1f} s",
            f"run               {self.seconds:.0f} s, {len(self.faults)} faults:",
        ]
        return head + [f"  {at:6.1f} s  {what}" for at, what in self.faults]

    @property
    def clean(self) -> bool:
        nothing_wrong = (
            self.lost + self.stuck + self.duplicates + self.orphans + self.dead_letters
            + self.server_errors
        )  # fmt: skip
        return nothing_wrong == 0 and not self.exited and self.completed == self.accepted


class FaultyProxy:
    """A TCP proxy in front of the departments: latency on each connection, and a
    share of connections reset before a byte is passed on."""

    def __init__(self, upstream_port: int, plan: Plan, rng: random.Random) -> None:
        self.upstream_port, self.plan, self.rng = upstream_port, plan, rng
        self.port = free_port()
        self.resets = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.rng.random() < self.plan.reset_rate:
            self.resets += 1
            writer.transport.abort()  # an RST for the adapter
            return
        await asyncio.sleep(self.rng.uniform(0, self.plan.latency_ms / 1000))
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def close(self) -> None:
        self.server.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


class Chaos:
    def __init__(self, plan: Plan, workdir: Path) -> None:
        self.plan, self.workdir = plan, workdir
        self.rng = random.Random(plan.seed)
        self.report = Report()
        self.started = time.monotonic()
        self.posted_at: dict[str, float] = {}
        self.done_at: dict[str, float] = {}
        self.status: dict[str, str] = {}

    def fault(self, what: str) -> None:
        self.report.faults.append((time.monotonic() - self.started, what))
        print(f"  {time.monotonic() - self.started:6.1f} s  {what}", flush=True)

    async def run(self) -> Report:
        cluster = await asyncio.to_thread(RabbitCluster(3).up)
        try:
            async with private_postgres() as postgres:
                await self._in_deployment(cluster, postgres)
        finally:
            await asyncio.to_thread(cluster.stop_all)
        self.report.seconds = time.monotonic() - self.started
        return self.report

    async def _in_deployment(self, cluster: RabbitCluster, postgres: PrivatePostgres) -> None:
        """Every role as a process, the adapters behind the faulty proxy."""
        proxy: FaultyProxy | None = None

        async def via_proxy(sandbox_url: str) -> str:
            nonlocal proxy
            proxy = FaultyProxy(int(sandbox_url.rsplit(":", 1)[1]), self.plan, self.rng)
            await proxy.start()
            return f"http://127.0.0.1:{proxy.port}"

        async with deployment(
            self.workdir / "logs", later_delay_s=0.5, amqp_url=cluster.url,
            database_url=postgres.dsn, gateways=2, notifier=True, departments_via=via_proxy,
            orchestrators=self.plan.orchestrators,
        ) as deploy:  # fmt: skip
            await self._under_faults(deploy, cluster, postgres)
            await self._count(deploy, postgres)
        if proxy is not None:
            await proxy.close()

    async def _under_faults(
        self, deploy: Deployment, cluster: RabbitCluster, postgres: PrivatePostgres
    ) -> None:
        self.started = time.monotonic()
        posting = asyncio.create_task(self._post_all(deploy))
        scheduled = asyncio.Event()  # the node, PostgreSQL and department faults are done
        killing = asyncio.create_task(self._kill_processes(deploy, posting, scheduled))
        # A round of the infrastructure's faults every `round_s` while births
        # are posted, the first a fifth of the way in.
        span = self.plan.births / self.plan.rate
        start = min(span * 0.2, self.plan.round_s)
        while True:
            await self._at(start)
            await self._infrastructure_faults(deploy, cluster, postgres)
            start += self.plan.round_s
            if posting.done() or start > span:
                break
        scheduled.set()
        try:
            await posting
            await killing
        finally:  # whatever failed, no process is killed while the deployment stops
            killing.cancel()
        await self._follow(deploy, until=self.started + self.plan.deadline_s)

    async def _infrastructure_faults(
        self, deploy: Deployment, cluster: RabbitCluster, postgres: PrivatePostgres
    ) -> None:
        """A broker node killed and brought back, PostgreSQL restarted, a
        department down for a while."""
        node = self.rng.choice(cluster.nodes)
        self.fault(f"RabbitMQ node {node.name} killed")
        await asyncio.to_thread(cluster.kill, node)
        await asyncio.sleep(self.plan.node_down_s)
        await asyncio.to_thread(cluster.start, node)
        self.fault(f"RabbitMQ node {node.name} back")
        self.fault("PostgreSQL stopped")
        await postgres.stop()
        await asyncio.sleep(self.plan.postgres_down_s)
        await postgres.start()
        self.fault("PostgreSQL started")
        department = self.rng.choice(DEPARTMENTS)
        until = datetime.now(UTC) + timedelta(seconds=self.plan.department_down_s)
        async with httpx.AsyncClient(base_url=deploy.sandbox_url, timeout=60) as sandbox:
            await sandbox.post(
                f"/{department}/_sandbox/faults", json={"outage_until": until.isoformat()}
            )
        self.fault(f"department {department} down for {self.plan.department_down_s:.0f} s")

    async def _at(self, second: float) -> None:
        await asyncio.sleep(max(0.0, self.started + second - time.monotonic()))

    async def _kill_processes(
        self, deploy: Deployment, posting: asyncio.Task[None], scheduled: asyncio.Event
    ) -> None:
        """Until every birth is posted and the other faults are done, `kill -9` a
        random birthlink process every few seconds and start it again."""
        killable = [name for name in deploy.processes if name != "sandbox"]
        while not (posting.done() and scheduled.is_set()):
            await asyncio.sleep(self.plan.kill_every)
            name = self.rng.choice(killable)
            self.fault(f"kill -9 {name}")
            await deploy.kill_and_restart(name)

    async def _post_all(self, deploy: Deployment) -> None:
        births = [birth_event(self.rng) for _ in range(self.plan.births)]
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {deploy.hospital_key}"}, timeout=10
        ) as http:
            posts = []
            for i, event in enumerate(births):
                await self._at(i / self.plan.rate)
                posts.append(asyncio.create_task(self._post(http, deploy, event, i)))
            await asyncio.gather(*posts)

    async def _post(
        self, http: httpx.AsyncClient, deploy: Deployment, event: dict[str, Any], i: int
    ) -> None:
        """Post until a gateway accepts it; the same event again is the same birth."""
        sent = time.monotonic()
        while True:
            url = deploy.gateway_urls[i % len(deploy.gateway_urls)]
            i += 1
            try:
                response = await http.post(f"{url}/v1/births", json=event)
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
                continue
            if response.status_code in (200, 202):
                birth_id = response.json()["birth_id"]
                self.posted_at.setdefault(birth_id, sent)
                return
            if response.status_code == 500:
                self.report.server_errors += 1
            elif response.status_code not in (502, 503, 504):
                raise RuntimeError(f"POST refused: {response.status_code} {response.text[:500]}")
            await asyncio.sleep(0.5)

    async def _follow(self, deploy: Deployment, until: float) -> None:
        """Poll the births not final yet, 20 at a time over both gateways, until
        all are final or the deadline."""
        gate = asyncio.Semaphore(20)
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {deploy.hospital_key}"}, timeout=10
        ) as http:

            async def look(birth_id: str, turn: int) -> None:
                url = deploy.gateway_urls[turn % len(deploy.gateway_urls)]
                async with gate:
                    try:
                        response = await http.get(f"{url}/v1/births/{birth_id}")
                    except httpx.HTTPError:
                        return
                if response.status_code == 404:
                    self.status[birth_id] = "lost"
                elif response.status_code == 200:
                    self.status[birth_id] = response.json()["status"]
                    if self.status[birth_id] in FINAL:
                        self.done_at[birth_id] = time.monotonic()

            while time.monotonic() < until:
                waiting = [b for b in self.posted_at if self.status.get(b) not in FINAL]
                if not waiting:
                    return
                await asyncio.gather(*(look(b, turn) for turn, b in enumerate(waiting)))
                await asyncio.sleep(1)

    async def _count(self, deploy: Deployment, postgres: PrivatePostgres) -> None:
        report = self.report
        report.accepted = len(self.posted_at)
        report.exited = deploy.ended_on_their_own()
        statuses = Counter(self.status.get(b, "unknown") for b in self.posted_at)
        report.completed = statuses["completed"]
        report.lost = statuses["lost"]
        report.stuck = report.accepted - report.completed - report.lost
        waits = sorted(self.done_at[b] - self.posted_at[b] for b in self.done_at)
        if waits:
            report.p50_s = statistics.median(waits)
            report.p99_s = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        async with httpx.AsyncClient(base_url=deploy.sandbox_url, timeout=60) as sandbox:
            for department in DEPARTMENTS:
                records = (await sandbox.get(f"/{department}/_sandbox/records")).json()["records"]
                births = Counter(str(r["key"]).split(":")[0] for r in records)
                report.duplicates += sum(n - 1 for n in births.values() if n > 1)
                report.orphans += sum(1 for b in births if b not in self.posted_at)
        connection = await asyncpg.connect(postgres.dsn)
        try:
            report.dead_letters = await connection.fetchval("SELECT count(*) FROM dead_letters")
        finally:
            await connection.close()


async def run_chaos(plan: Plan, workdir: Path) -> Report:
    return await Chaos(plan, workdir).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--births", type=int, default=Plan.births)
    parser.add_argument("--rate", type=float, default=Plan.rate)
    parser.add_argument("--kill-every", type=float, default=Plan.kill_every)
    parser.add_argument("--department-down", type=float, default=Plan.department_down_s)
    parser.add_argument("--deadline", type=float, default=Plan.deadline_s)
    parser.add_argument("--round", type=float, default=Plan.round_s)
    parser.add_argument("--seed", type=int, default=Plan.seed)
    parser.add_argument("--orchestrators", type=int, default=Plan.orchestrators)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--logs", type=Path, help="keep every process's log in this folder")
    args = parser.parse_args()
    plan = Plan(
        births=args.births, rate=args.rate, kill_every=args.kill_every,
        department_down_s=args.department_down, deadline_s=args.deadline, seed=args.seed,
        round_s=args.round, orchestrators=args.orchestrators,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="birthlink-chaos-") as workdir:
        report = asyncio.run(run_chaos(plan, args.logs or Path(workdir)))
    print(json.dumps(report.__dict__) if args.json else "\n".join(report.lines()))
    sys.exit(0 if report.clean else 1)


if __name__ == "__main__":
    main()
