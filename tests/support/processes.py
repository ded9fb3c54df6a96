"""birthlink as in production: every role its own process (`birthlink gateway`,
`orchestrator`, `relay`, `adapter <department>` x5, `sandbox`), on RabbitMQ and
PostgreSQL, each deployment with its own schema and queue prefix."""

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import httpx

from birthlink.installation import generate
from birthlink.samples import DEMO_HOSPITAL
from bus.rabbitmq import RabbitMQTransport
from bus.topology import Topology
from contracts.catalogue import BUILTIN_DEPARTMENTS as DEPARTMENTS
from contracts.catalogue import builtin_registry
from tests.support.cli import run_birthlink
from tests.support.servers import free_port, healthy, wait_for
from tests.support.stack import AMQP_URL, PG_DSN, postgres_schema

BIRTHLINK = [sys.executable, "-m", "birthlink"]


@dataclass
class Deployment:
    """The processes of one deployment, and how to reach it."""

    env: dict[str, str]
    gateway_urls: list[str]
    sandbox_url: str
    hospital_key: str
    logs: Path
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    commands: dict[str, tuple[tuple[str, ...], dict[str, str]]] = field(default_factory=dict)
    # Where each orchestrator serves its Prometheus metrics, by process name.
    metrics_urls: dict[str, str] = field(default_factory=dict)
    # Processes found ended on their own (not stopped by us), by name, once each time.
    exited: list[str] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return self.gateway_urls[0]

    async def spawn(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> None:
        """Start `birthlink <args>` as `name`, with `env` on top of the deployment's."""
        self.commands[name] = (args, dict(env or {}))
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = await asyncio.create_subprocess_exec(
            *BIRTHLINK,
            "--json-logs",
            *args,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=log,
        )
        log.close()

    async def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name)
        if process.returncode is not None:
            self.exited.append(name)
        else:
            process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()

    def ended_on_their_own(self) -> list[str]:
        """The processes that ended without being stopped: a crash, or one that
        gave up (started while what it needs was down)."""
        running_out = [n for n, p in self.processes.items() if p.returncode is not None]
        return [*self.exited, *running_out]

    async def kill_and_restart(self, name: str) -> None:
        """`kill -9` the process, then start it again as it was started."""
        await self.stop(name, signal.SIGKILL)
        args, env = self.commands[name]
        await self.spawn(name, *args, env=env)


async def assert_one_record_per_birth(sandbox_url: str, ids: Sequence[str]) -> None:
    """Each sandbox department holds one record per birth, under the birth's own
    idempotency key."""
    async with httpx.AsyncClient(base_url=sandbox_url) as sandbox:
        for department in DEPARTMENTS:
            records = (await sandbox.get(f"/{department}/_sandbox/records")).json()
            step = builtin_registry().of_department(department)[0].name
            keys = sorted(r["key"] for r in records["records"])
            assert keys == sorted(f"{i}:{step}" for i in ids), department


async def _run(env: dict[str, str], *args: str) -> str:
    ran = await run_birthlink(env, *args)
    if ran.code != 0:
        raise RuntimeError(f"birthlink {' '.join(args)} failed: {ran.err[-2000:]}")
    return ran.out


@asynccontextmanager
async def deployment(
    logs: Path,
    *,
    later_delay_s: float = 1.0,
    amqp_url: str = AMQP_URL,
    database_url: str | None = None,
    gateways: int = 1,
    notifier: bool = False,
    departments_via: Callable[[str], Awaitable[str]] | None = None,
    orchestrators: int = 1,
    relays: int = 1,
    adapters: int = 1,
) -> AsyncIterator[Deployment]:
    """Start every role as its own process; stop them all afterwards.

    By default on the machine's broker and a fresh schema of its PostgreSQL;
    `amqp_url`, `database_url`: elsewhere (a private cluster and server).
    `gateways`: how many gateway processes; `notifier`: run the notifier too;
    `departments_via`: given the sandbox's URL, the one the adapters call
    (a proxy that adds faults); `orchestrators`, `relays`: how many of each
    (several orchestrators share the results, two partitions each);
    `adapters`: how many processes per department."""
    async with AsyncExitStack() as stack:
        store = {"BIRTHLINK_DATABASE_URL": database_url or PG_DSN}
        if database_url is None:
            _, store["BIRTHLINK_DATABASE_SCHEMA"] = await stack.enter_async_context(
                postgres_schema()
            )
        prefix = f"p{uuid4().hex[:8]}."
        topology = RabbitMQTransport(amqp_url, Topology(prefix=prefix))
        stack.push_async_callback(topology.delete_topology)
        gateway_ports = [free_port() for _ in range(gateways)]
        sandbox_url = f"http://127.0.0.1:{free_port()}"
        departments_url = await departments_via(sandbox_url) if departments_via else sandbox_url
        env = {
            **os.environ,
            **store,
            "BIRTHLINK_AMQP_URL": amqp_url,
            "BIRTHLINK_AMQP_PREFIX": prefix,
            "BIRTHLINK_DEPARTMENTS_URL": departments_url,
            "BIRTHLINK_LATER_DELAY_S": str(later_delay_s),
            # The births posted to it are the Zhejiang demo's (bench/ runs it too).
            "BIRTHLINK_PROFILE": os.environ.get("BIRTHLINK_PROFILE", "five"),
            "BIRTHLINK_RESULT_PARTITIONS": str(2 * orchestrators if orchestrators > 1 else 1),
            **generate(),  # the production roles refuse the development keys and secrets
        }
        if notifier:  # text messages to the sandbox's SMS gateway
            env["BIRTHLINK_SMS_URL"] = f"{departments_url}/sms"
        await _run(env, "migrate")
        key = (await _run(env, "keys", "create", "--hospital", DEMO_HOSPITAL["code"])).split()[-1]
        gateway_urls = [f"http://127.0.0.1:{port}" for port in gateway_ports]
        deploy = Deployment(env, gateway_urls, sandbox_url, key, logs)
        await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
        stack.push_async_callback(_stop_all, deploy)
        for i, port in enumerate(gateway_ports):
            await deploy.spawn(_nth("gateway", i), "gateway", "--port", str(port))
        await deploy.spawn(
            "sandbox", "sandbox", "--port", sandbox_url.rsplit(":", 1)[1],
            "--gateway", gateway_urls[0],
        )  # fmt: skip
        for i in range(relays):
            await deploy.spawn(_nth("relay", i), "relay")
        for i in range(orchestrators):
            name, port = _nth("orchestrator", i), free_port()
            deploy.metrics_urls[name] = f"http://127.0.0.1:{port}/metrics"
            await deploy.spawn(
                name,
                "orchestrator",
                env={
                    "BIRTHLINK_ORCHESTRATOR_INSTANCE": str(i),
                    "BIRTHLINK_ORCHESTRATOR_INSTANCES": str(orchestrators),
                    "BIRTHLINK_METRICS_PORT": str(port),
                },
            )
        if notifier:
            await deploy.spawn("notifier", "notifier")
        for department in DEPARTMENTS:
            for i in range(adapters):
                await deploy.spawn(_nth(f"adapter-{department}", i), "adapter", department)
        for url in gateway_urls:
            await wait_for(lambda u=url: healthy(u), within=90, what="gateway up")  # type: ignore[misc]
        await wait_for(lambda: healthy(sandbox_url), within=90, what="sandbox up")
        yield deploy


def _nth(role: str, i: int) -> str:
    """`gateway`, `gateway-2`, …: the first of a role keeps the role's name."""
    return f"{role}-{i + 1}" if i else role


async def _stop_all(deploy: Deployment) -> None:
    for name in list(deploy.processes):
        await deploy.stop(name)
