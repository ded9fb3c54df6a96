"""The whole system for end-to-end tests: gateway, orchestrator, relay, timers,
five adapters, and the sandbox departments, each HTTP hop over real loopback
sockets; on the in-process bus with SQLite, or on RabbitMQ with PostgreSQL."""

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx

from adapters._runtime.breaker import seconds_of
from adapters._runtime.settings import AdapterSettings
from adapters.registry import BUILTIN_ADAPTERS, AdapterFactory, AdapterRuntime
from birthlink.samples import demo_of
from birthlink.up import AdaptersCompanion
from bus.base import ManagedTransport
from bus.inprocess import InProcessTransport
from bus.rabbitmq import RabbitMQTransport
from bus.sealed import DEV_BUS_KEYS, SealedTransport
from bus.topology import Topology
from contracts.profile import load_profile
from contracts.registry import Registry, RuleContext
from contracts.sealing import Keyring
from gateway.api.app import create_app
from gateway.bootstrap import Runtime, bootstrap
from gateway.clock import ManualClock
from gateway.saga.plan import Plan
from gateway.security.keys import create_key
from gateway.settings import DEV_DATA_KEYS, GatewaySettings
from gateway.store import crypto
from gateway.store.db import Database
from gateway.store.migrate import migrate
from sandbox.app import create_sandbox
from sandbox.settings import SandboxSettings
from tests.support.servers import bound_socket, serve, url_of, wait_for

AMQP_URL = os.environ.get("BIRTHLINK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PG_DSN = os.environ.get("BIRTHLINK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
KINDS = ("inprocess-sqlite", "rabbitmq-postgres")
FINAL = ("completed", "action_required", "cancelled")


@dataclass
class Stack:
    """A running system and clients for the hospital, the parents and the sandbox."""

    kind: str
    runtime: Runtime
    gateway_url: str
    sandbox_url: str
    hospital: httpx.AsyncClient  # authenticated as the demo hospital
    anonymous: httpx.AsyncClient
    sandbox: httpx.AsyncClient
    other_hospital_key: str

    async def post(self, event: dict[str, Any]) -> httpx.Response:
        return await self.hospital.post("/v1/births", json=event)

    async def birth(self, birth_id: str) -> dict[str, Any]:
        response = await self.hospital.get(f"/v1/births/{birth_id}")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def wait_until_final(self, birth_id: str, within: float = 60) -> dict[str, Any]:
        async def final() -> dict[str, Any] | None:
            birth = await self.birth(birth_id)
            return birth if birth["status"] in FINAL else None

        return await wait_for(final, within=within, what=f"{birth_id} final")

    async def records(self, department: str) -> list[dict[str, Any]]:
        response = await self.sandbox.get(f"/{department}/_sandbox/records")
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()["records"]
        return records

    async def faults(self, department: str, **faults: Any) -> None:
        response = await self.sandbox.post(f"/{department}/_sandbox/faults", json=faults)
        response.raise_for_status()


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[tuple[str, str]]:
    """A fresh schema in the test database, dropped afterwards."""
    schema = f"t_{uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        yield PG_DSN, schema
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A database of its own (PostgreSQL counts commits per database), dropped
    afterwards; yields its DSN."""
    name = f"bl_{uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def commits(datname: str) -> int:
    """Transactions committed in database `datname` so far, by PostgreSQL's count
    (read from another database, so that reading it counts nothing)."""
    conn = await asyncpg.connect(PG_DSN)
    try:
        count: int = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", datname
        )
        return count
    finally:
        await conn.close()


@dataclass(frozen=True)
class Steps:
    """A deployment's own steps for a test: the registry, the adapters of the
    departments it adds, and where those departments are."""

    registry: Registry
    adapters: Mapping[str, AdapterFactory]
    urls: Mapping[str, str]


@dataclass(frozen=True)
class World:
    """What outlives one stack when a deployment is upgraded: the saga store
    (URL, schema), and the departments (the sandbox), which call the gateway
    back on `gateway_port` whichever stack serves it."""

    store: tuple[str, str | None]
    sandbox_url: str
    gateway_port: int


@asynccontextmanager
async def store_for(kind: str, tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """A saga store (URL, schema) for `kind`."""
    if kind == "rabbitmq-postgres":
        async with postgres_schema() as (dsn, schema):
            yield dsn.replace("postgresql://", "postgresql+asyncpg://"), schema
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'birthlink.db'}", None


@asynccontextmanager
async def saga_store(kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated saga store for `kind`, under the development data keys."""
    async with store_for(kind, tmp_path) as (url, schema):
        db = Database(url, schema=schema, pool_size=3)
        crypto.bind(db, Keyring.parse(DEV_DATA_KEYS))
        await migrate(db)
        try:
            yield db
        finally:
            await db.dispose()


@asynccontextmanager
async def world_for(
    kind: str, tmp_path: Path, *, later_delay_s: float = 0.3
) -> AsyncIterator[World]:
    """A store and departments for several stacks, one after the other."""
    probe = bound_socket()
    gateway_port = probe.getsockname()[1]
    probe.close()
    sandbox = create_sandbox(
        SandboxSettings(gateway_url=f"http://127.0.0.1:{gateway_port}", later_delay_s=later_delay_s)
    )
    async with store_for(kind, tmp_path) as store, serve(sandbox.app, bound_socket()) as url:
        yield World(store, url, gateway_port)


@asynccontextmanager
async def running_stack(
    kind: str,
    tmp_path: Path,
    *,
    later_delay_s: float = 0.3,
    clock: ManualClock | None = None,
    adapter_overrides: dict[str, Any] | None = None,
    steps: Steps | None = None,
    world: World | None = None,
    profile: str | None = None,
    jurisdiction: str | None = None,
    store: tuple[str, str | None] | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Bring the whole system up for one test, and down again. With `clock`, the
    gateway, the sandbox and the adapters' circuit breakers all read it; with
    `steps`, the deployment runs those; with `world`, it uses that store and
    those departments (which a later stack uses again); with `store`, that saga
    store (URL, schema); with `profile`, the deployment is that profile's
    (default: `five`, the registrations everywhere, or `jurisdiction`'s).
    `overrides` are settings, and win over the quick intervals tests run with."""
    deployment = load_profile(profile or "five")
    registry = steps.registry if steps else deployment.registry()
    jurisdiction = jurisdiction or deployment.jurisdiction
    async with AsyncExitStack() as stack:
        transport: ManagedTransport
        if world is not None:
            url, schema = world.store
        elif store is not None:
            url, schema = store
        else:
            url, schema = await stack.enter_async_context(store_for(kind, tmp_path))
        db = Database(url, schema=schema)
        if kind == "rabbitmq-postgres":
            topology = Topology(prefix=f"t{uuid4().hex[:8]}.", departments=registry.departments)
            rabbit = RabbitMQTransport(AMQP_URL, topology)
            stack.push_async_callback(rabbit.delete_topology)
            transport = rabbit
        else:
            transport = InProcessTransport(Topology(departments=registry.departments))
        transport = SealedTransport(transport, Keyring.parse(DEV_BUS_KEYS))  # as deployed
        gateway_sock = bound_socket(world.gateway_port if world else 0)
        if world is None:
            sandbox = create_sandbox(
                SandboxSettings(gateway_url=url_of(gateway_sock), later_delay_s=later_delay_s),
                clock=clock.now if clock else None,
            )
            sandbox_url = await stack.enter_async_context(serve(sandbox.app, bound_socket()))
        else:
            sandbox_url = world.sandbox_url
        settings = GatewaySettings(
            database_url=db.url,
            sms_url=f"{sandbox_url}/sms",
            profile=deployment.name,
            **{"relay_interval_s": 0.05, "sweep_interval_s": 0.1, **overrides},
        )
        plan = Plan(registry, RuleContext(jurisdiction))
        runtime = bootstrap(settings, transport=transport, db=db, clock=clock, plan=plan)
        adapter_settings = AdapterSettings(
            departments_url=sandbox_url,
            department_urls=dict(steps.urls) if steps else {},
            **{"retry_max_wait_s": 0.2, **(adapter_overrides or {})},
        )
        adapters = AdapterRuntime(
            registry.departments,
            transport,
            adapter_settings,
            now=seconds_of(clock.now) if clock else None,
            registry=registry,
            adapters={**BUILTIN_ADAPTERS, **(steps.adapters if steps else {})},
        )
        runtime.companions.append(AdaptersCompanion(adapters))
        gateway_url = await stack.enter_async_context(serve(create_app(runtime), gateway_sock))
        async with db.write() as session:
            now = runtime.clock.now()
            hospital_code = demo_of(jurisdiction)[0]["code"]
            key = await create_key(
                session, role="hospital", name="demo", hospital_code=hospital_code, now=now
            )
            other = await create_key(
                session, role="hospital", name="other", hospital_code="H11010500002", now=now
            )
        hospital = httpx.AsyncClient(
            base_url=gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        anonymous = httpx.AsyncClient(base_url=gateway_url, timeout=30)
        departments = httpx.AsyncClient(base_url=sandbox_url, timeout=30)
        for client in (hospital, anonymous, departments):
            stack.push_async_callback(client.aclose)
        yield Stack(
            kind, runtime, gateway_url, sandbox_url, hospital, anonymous, departments, other
        )
