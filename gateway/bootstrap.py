"""Wires the gateway's roles from settings: store, transport, orchestrator,
relay, timers. `bootstrap(settings, transport=..., db=...)` lets tests pass
their own; `start(roles)` runs the chosen roles as background tasks."""

import asyncio
import contextlib
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import structlog

from bus.base import ManagedTransport
from bus.factory import make_transport
from bus.topology import NOTIFIER_QUEUE, Topology
from contracts import regions
from contracts.profile import Profile
from contracts.registry import Registry, RuleContext
from contracts.sealing import Keyring
from contracts.steps import StepState
from gateway.clock import Clock, SystemClock
from gateway.saga.machine import Policy
from gateway.saga.plan import Plan
from gateway.security.callbacks import BUILTIN_READERS, CallbackReader, SecretCache
from gateway.security.keys import Principal, authenticate
from gateway.services.grouped import Grouped
from gateway.services.unit_of_work import UnitOfWork
from gateway.settings import GatewaySettings
from gateway.store import crypto, sagas
from gateway.store.db import Database
from gateway.store.migrate import migrate
from gateway.views import BirthFilter, find_births
from gateway.workers.deadletters import DeadLetterMover
from gateway.workers.notifier import HttpSmsProvider, Notifier
from gateway.workers.orchestrator import Orchestrator
from gateway.workers.outage import held_through_outages, when_store_answers
from gateway.workers.pruner import Pruner
from gateway.workers.relay import Relay
from gateway.workers.timers import Sweeper

log = structlog.get_logger()

Role = Literal["relay", "orchestrator", "timers", "notifier", "dead_letters"]
ALL_ROLES: tuple[Role, ...] = ("relay", "orchestrator", "timers", "notifier", "dead_letters")
KEY_CHECK_BATCH = 100  # API keys checked by one read, at most
# A command was sent for these steps, or a poll of the department is planned.
IN_FLIGHT_STATES = (
    StepState.QUEUED.value,
    StepState.IN_PROGRESS.value,
    StepState.AWAITING_DEPARTMENT.value,
)


class Companion(Protocol):
    """Something that runs beside the gateway in one process (adapters, sandbox)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def policy_from(settings: GatewaySettings) -> Policy:
    from datetime import timedelta

    return Policy(
        dispatch_lease=settings.dispatch_lease,
        poll_after=settings.poll_after,
        step_deadline=settings.step_deadline,
        retry_ladder=tuple(timedelta(seconds=s) for s in settings.retry_ladder_s),
    )


@dataclass
class Runtime:
    """The gateway's parts, and the background tasks of the roles it runs."""

    settings: GatewaySettings
    db: Database
    transport: ManagedTransport
    clock: Clock
    uow: UnitOfWork
    orchestrator: Orchestrator
    relay: Relay
    sweeper: Sweeper
    pruner: Pruner
    notifier: Notifier
    dead_letters: DeadLetterMover | None = None  # moves dead letters to the table (issue 3)
    callback_readers: Mapping[str, CallbackReader] = field(default_factory=lambda: BUILTIN_READERS)
    # The departments' callback secrets in memory (checked without a read).
    callback_secrets: SecretCache | None = None
    companions: list[Companion] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _started: bool = False

    def __post_init__(self) -> None:
        # Keys asked for together share one read (it begins after they were asked).
        self._key_checks = Grouped(self._check_keys, most=KEY_CHECK_BATCH)

    async def principal(self, key: str) -> Principal | None:
        """The hospital or operator behind an API key, read from the store now:
        None for an unknown, wrong, revoked or expired key."""
        return await self._key_checks(key)

    async def _check_keys(self, keys: list[str]) -> list[Principal | None]:
        async with self.db.read() as session:
            return await authenticate(session, keys, now=self.clock.now())

    @property
    def registry(self) -> Registry:
        """The deployment's steps."""
        return self.uow.plan.registry

    async def find_births(
        self, query: BirthFilter, *, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of births as operators (and hospitals, their own) list them;
        the API and the CLI both ask here."""
        async with self.db.read() as session:
            return await find_births(
                session,
                self.registry,
                query,
                limit=limit,
                now=self.clock.now(),
                near=self.settings.deadline_near,
            )

    async def start(self, roles: Iterable[Role] = ALL_ROLES, *, migrate_db: bool = True) -> None:
        """Migrate, connect, start companions, then run the roles."""
        if self._started:
            return
        self._started = True
        regions.load_table()
        if migrate_db:
            await when_store_answers(
                lambda: migrate(self.db), within_s=self.settings.startup_wait_s
            )
        await self.transport.start()
        for companion in self.companions:
            await companion.start()
        roles = set(roles)
        if "timers" in roles and not self.transport.survives_restart:
            await self._resume_lost_commands()
        if "orchestrator" in roles:
            await self._take_results()
        if "relay" in roles:
            self._spawn(self.relay.run(), "relay")
        if "timers" in roles:
            self._spawn(self.sweeper.run(), "timers")
            self._spawn(self.pruner.run(), "pruner")
        if "notifier" in roles:
            await self.transport.subscribe_batch(
                NOTIFIER_QUEUE,
                held_through_outages(self.notifier.handle_batch),
                size=self.settings.notifier_batch,
                wait_s=self.settings.notifier_wait_ms / 1000,
            )
        if "dead_letters" in roles and self.dead_letters is not None:
            self._spawn(self.dead_letters.run(), "dead_letters")
        log.info("gateway.started", roles=sorted(roles))

    async def _take_results(self) -> None:
        """Consume this orchestrator's partitions of the results now, and the
        others as a standby a little later: their own orchestrator, started
        meanwhile, is first in line for them (single active consumer)."""
        queues = self.settings.result_queues()
        own = [q for n, q in enumerate(queues) if self.settings.owns_partition(n)]
        standby = [q for q in queues if q not in own]
        for queue in own:
            await self._consume_results(queue)
        if standby:
            self._spawn(self._stand_by(standby), "orchestrator-standby")

    async def _stand_by(self, queues: list[str]) -> None:
        await asyncio.sleep(self.settings.orchestrator_standby_s)
        for queue in queues:
            await self._consume_results(queue)

    async def _consume_results(self, queue: str) -> None:
        await self.transport.subscribe_batch(
            queue,
            held_through_outages(self.orchestrator.handle_replies),
            size=self.settings.orchestrator_batch,
            wait_s=self.settings.orchestrator_wait_ms / 1000,
        )

    async def _resume_lost_commands(self) -> None:
        """The commands and replies queued on the bus before a restart died with
        the process: send again at once what was in flight, instead of waiting
        out the dispatch lease (departments de-duplicate by Idempotency-Key)."""
        async with self.db.write() as session:
            resumed = await sagas.due_now(session, IN_FLIGHT_STATES, now=self.clock.now())
        if resumed:
            log.info("gateway.resumed_in_flight_steps", steps=resumed)

    async def transport_ready(self) -> bool:
        """Whether the broker answers (the in-process bus always does)."""
        return await self.transport.ready()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def stop(self) -> None:
        """Stop the roles, the companions and the connections, newest first."""
        for task in self._tasks:
            await _cancelled(task)
        self._tasks.clear()
        for companion in reversed(self.companions):
            await companion.stop()
        await self.transport.close()
        await self.notifier.close()
        await self.db.dispose()
        self._started = False


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait for it to end. A library may swallow one
    cancellation (aio-pika closing a channel can): cancel again until it ends."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def database_for(settings: GatewaySettings) -> Database:
    """The saga store the settings name, with the settings' data keys."""
    db = Database(settings.database_url, schema=settings.database_schema)
    crypto.bind(db, Keyring.parse(settings.data_keys.get_secret_value()))
    return db


def plan_of(profile: Profile) -> Plan:
    """The step DAG of a deployment profile, with its jurisdiction."""
    return Plan(profile.registry(), RuleContext(profile.jurisdiction))


def bootstrap(
    settings: GatewaySettings,
    *,
    transport: ManagedTransport | None = None,
    db: Database | None = None,
    clock: Clock | None = None,
    plan: Plan | None = None,
    callback_readers: Mapping[str, CallbackReader] = BUILTIN_READERS,
) -> Runtime:
    """Build the runtime; nothing connects until `start`. `plan` replaces the
    built-in steps, `callback_readers` the callback formats (a deployment's or a
    test's own steps)."""
    db = db or database_for(settings)
    crypto.bind(db, Keyring.parse(settings.data_keys.get_secret_value()))
    plan = plan or plan_of(settings.deployment())
    transport = transport or make_transport(
        settings.amqp_url,
        Keyring.parse(settings.bus_keys.get_secret_value()),
        Topology(
            settings.amqp_prefix,
            departments=plan.registry.departments,
            partitions=settings.result_partitions,
        ),
    )
    clock = clock or SystemClock()
    relay = Relay(
        db,
        transport,
        clock,
        batch=settings.relay_batch,
        interval_s=settings.relay_interval_s,
        lease_s=settings.relay_lease_s,
        mark_s=settings.relay_mark_s,
        gather_s=settings.relay_gather_s,
    )
    uow = UnitOfWork(
        db,
        plan,
        policy_from(settings),
        clock,
        lookup_key=settings.lookup_key.get_secret_value(),
        on_commit=relay.wake,
    )
    sweeper = Sweeper(
        db,
        uow,
        clock,
        interval_s=settings.sweep_interval_s,
        max_wait_s=settings.sweep_max_wait_s,
        mine=settings.owns_birth,
        takeover=settings.orchestrator_takeover,
    )
    db.after_write(sweeper.wake)  # a commit here may have set a sooner timer
    pruner = Pruner(
        db,
        clock,
        outbox_keep=settings.outbox_keep,
        inbox_keep=settings.inbox_keep,
        interval_s=settings.prune_interval_s,
    )
    notifier = Notifier(
        db, HttpSmsProvider(settings.sms_url), clock, plan.registry, public_url=settings.public_url
    )
    mover = DeadLetterMover(
        db,
        transport,
        clock,
        departments=plan.registry.departments,
        result_queues=settings.result_queues(),
        interval_s=settings.dead_letter_interval_s,
        max_wait_s=settings.dead_letter_max_wait_s,
    )
    return Runtime(
        settings,
        db,
        transport,
        clock,
        uow,
        Orchestrator(uow),
        relay,
        sweeper,
        pruner,
        notifier,
        dead_letters=mover,
        callback_readers=callback_readers,
        callback_secrets=SecretCache(db.read, ttl_s=settings.callback_secrets_ttl_s),
    )
