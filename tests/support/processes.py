"""birthlink as in production: every role its own process (`birthlink gateway`,
`orchestrator`, `relay`, `adapter <department>` x5, `sandbox`), on RabbitMQ and
PostgreSQL, each deployment with its own schema and queue prefix."""

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

from birthlink.installation import generate
from birthlink.samples import DEMO_HOSPITAL
from bus.rabbitmq import RabbitMQTransport
from bus.topology import Topology
from contracts.catalogue import BUILTIN_DEPARTMENTS as DEPARTMENTS
from tests.support.cli import run_birthlink
from tests.support.servers import bound_socket, healthy, url_of, wait_for
from tests.support.stack import AMQP_URL, PG_DSN, postgres_schema

BIRTHLINK = [sys.executable, "-m", "birthlink"]


@dataclass
class Deployment:
    """The processes of one deployment, and how to reach it."""

    env: dict[str, str]
    gateway_url: str
    sandbox_url: str
    hospital_key: str
    logs: Path
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)

    async def spawn(self, name: str, *args: str) -> None:
        self.commands[name] = args
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = await asyncio.create_subprocess_exec(
            *BIRTHLINK, "--json-logs", *args, env=self.env, stdout=log, stderr=log
        )
        log.close()

    async def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name)
        if process.returncode is None:
            process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def kill_and_restart(self, name: str) -> None:
        """`kill -9` the process, then start it again as it was started."""
        await self.stop(name, signal.SIGKILL)
        await self.spawn(name, *self.commands[name])


async def _run(env: dict[str, str], *args: str) -> str:
    ran = await run_birthlink(env, *args)
    if ran.code != 0:
        raise RuntimeError(f"birthlink {' '.join(args)} failed: {ran.err[-2000:]}")
    return ran.out


@asynccontextmanager
async def deployment(logs: Path, *, later_delay_s: float = 1.0) -> AsyncIterator[Deployment]:
    """Start every role as its own process; stop them all afterwards."""
    async with AsyncExitStack() as stack:
        _, schema = await stack.enter_async_context(postgres_schema())
        prefix = f"p{uuid4().hex[:8]}."
        topology = RabbitMQTransport(AMQP_URL, Topology(prefix=prefix))
        stack.push_async_callback(topology.delete_topology)
        # Ports are picked now and released for the servers to bind.
        gateway_sock, sandbox_sock = bound_socket(), bound_socket()
        gateway_url, sandbox_url = url_of(gateway_sock), url_of(sandbox_sock)
        gateway_sock.close()
        sandbox_sock.close()
        env = {
            **os.environ,
            "BIRTHLINK_DATABASE_URL": PG_DSN,
            "BIRTHLINK_DATABASE_SCHEMA": schema,
            "BIRTHLINK_AMQP_URL": AMQP_URL,
            "BIRTHLINK_AMQP_PREFIX": prefix,
            "BIRTHLINK_DEPARTMENTS_URL": sandbox_url,
            "BIRTHLINK_LATER_DELAY_S": str(later_delay_s),
            # The births posted to it are the Zhejiang demo's (bench/ runs it too).
            "BIRTHLINK_PROFILE": os.environ.get("BIRTHLINK_PROFILE", "five"),
            **generate(),  # the production roles refuse the development keys and secrets
        }
        await _run(env, "migrate")
        key = (await _run(env, "keys", "create", "--hospital", DEMO_HOSPITAL["code"])).split()[-1]
        deploy = Deployment(env, gateway_url, sandbox_url, key, logs)
        await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
        stack.push_async_callback(_stop_all, deploy)
        port = gateway_url.rsplit(":", 1)[1]
        await deploy.spawn("gateway", "gateway", "--port", port)
        await deploy.spawn(
            "sandbox", "sandbox", "--port", sandbox_url.rsplit(":", 1)[1], "--gateway", gateway_url
        )
        await deploy.spawn("relay", "relay")
        await deploy.spawn("orchestrator", "orchestrator")
        for department in DEPARTMENTS:
            await deploy.spawn(f"adapter-{department}", "adapter", department)
        await wait_for(lambda: healthy(gateway_url), within=30, what="gateway up")
        await wait_for(lambda: healthy(sandbox_url), within=30, what="sandbox up")
        yield deploy


async def _stop_all(deploy: Deployment) -> None:
    for name in list(deploy.processes):
        await deploy.stop(name)
