"""The unit of work: one birth, one transaction. `change` loads the birth's
saga, lets a service decide, saves what the decision changed with the messages
the saga emits (outbox) and commits; when another writer got there first, it
decides again on fresh state. `add` stores a birth just accepted the same way.

Mapping between the saga (the domain) and the store's plain rows happens here
and nowhere else.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bus.topology import COMMANDS_EXCHANGE, NOTIFICATIONS_EXCHANGE
from contracts.birth import BirthEvent
from contracts.commands import Operation
from contracts.steps import BirthStatus, StepState
from gateway import metrics
from gateway.clock import Clock
from gateway.saga.machine import Policy, Saga, StepView
from gateway.saga.messages import outgoing
from gateway.saga.plan import Plan
from gateway.security import privacy
from gateway.services.grouped import Grouped
from gateway.store import sagas
from gateway.store.db import Database
from gateway.store.inbox import claim_many

log = structlog.get_logger()

T = TypeVar("T")
Decide = Callable[[Saga, datetime], T]
CONFLICT_RETRIES = 8
ADD_BATCH = 50  # births accepted together in one transaction, at most
REFERENCE_BATCH = 100  # departments' references looked up by one read, at most
EXCHANGES = {"commands": COMMANDS_EXCHANGE, "notifications": NOTIFICATIONS_EXCHANGE}
# What a step row and the saga's view of the step both hold, under the same names.
SHARED = tuple(
    name for name in sagas.STEP_COLUMNS if name not in ("state", "department", "idempotency_key")
)


@dataclass(frozen=True)
class Done(Generic[T]):
    """What a decision returned, once committed; `applied` is False when the
    message behind it had been applied before (nothing was decided)."""

    result: T | None
    applied: bool = True


@dataclass(frozen=True)
class Item(Generic[T]):
    """One decision of a batch (`UnitOfWork.change_batch`): on `birth_id`, by
    `actor`, once per `inbox` (consumer, message id) when one is given."""

    birth_id: str
    decide: Decide[T]
    actor: str
    inbox: tuple[str, str] | None = None


@dataclass(frozen=True)
class _Adding:
    """A birth to add (`UnitOfWork.add`)."""

    saga: Saga
    birth: sagas.NewBirth
    actor: str
    unless: Callable[[AsyncSession], Awaitable[Any]] | None


def _unsaved(adding: _Adding) -> sagas.StoredBirth:
    """The birth as if stored before its first change (version 0)."""
    birth = adding.birth
    return sagas.StoredBirth(birth.id, adding.saga.status.value, birth.event, 1, 0, 0, None, [], {})


class UnitOfWork:
    """Loads, decides, saves and commits one birth, or a batch of births, at a time."""

    def __init__(
        self,
        db: Database,
        plan: Plan,
        policy: Policy,
        clock: Clock,
        *,
        lookup_key: str,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.db, self.plan, self.policy, self.clock = db, plan, policy, clock
        self._lookup_key = lookup_key
        self._on_commit = on_commit
        self._adding = Grouped(self._add_together, most=ADD_BATCH)
        self._referenced = Grouped(self._read_references, most=REFERENCE_BATCH)

    def mother_hash(self, event: BirthEvent) -> str:
        return privacy.mother_hash(self._lookup_key, event)

    def duplicate_key(self, event: BirthEvent) -> str | None:
        """The key under which a second post of this birth is refused, unless the
        hospital confirmed it is another birth."""
        return (
            None if event.duplicate_of_checked else privacy.duplicate_key(self._lookup_key, event)
        )

    async def change(
        self,
        birth_id: str,
        decide: Decide[T],
        *,
        actor: str,
        inbox: tuple[str, str] | None = None,
    ) -> Done[T] | None:
        """Apply `decide` to the birth and commit; None when the birth is unknown.
        `inbox` (consumer, message id) makes the change happen once per message."""
        for _ in range(CONFLICT_RETRIES):
            try:
                async with self.db.write() as session:
                    now = self.clock.now()
                    if inbox and not await sagas.claim(session, *inbox, now=now):
                        return Done(None, applied=False)
                    stored = await sagas.load(session, birth_id)
                    if stored is None:
                        return None
                    saga = self.saga_of(stored)
                    result = decide(saga, now)
                    change = self._change_of(saga, stored, actor, now)
                    await sagas.save(session, change)
            except sagas.ConcurrentUpdateError:
                log.debug("saga.conflict", birth_id=birth_id, actor=actor)
                metrics.SAGA_CONFLICTS.labels(actor.split(":", 1)[0]).inc()
                continue
            self._committed(saga, change, now)
            return Done(result)
        raise sagas.ConcurrentUpdateError(birth_id)

    async def change_batch(self, items: Sequence[Item[Any]]) -> list[Done[Any] | None]:
        """Apply every item in one transaction with a few set-based statements:
        the inbox, one read of the births and their steps, one
        write per table. Items on one birth are decided in order on one saga.
        One outcome per item: None when its birth is unknown. When another writer
        changed one of the births first, the whole batch is decided again."""
        for _ in range(CONFLICT_RETRIES):
            try:
                async with self.db.write() as session:
                    now = self.clock.now()
                    wanted = [item.inbox for item in items if item.inbox]
                    fresh = await claim_many(session, wanted, now=now)
                    stored = await sagas.load_many(session, {item.birth_id for item in items})
                    results, decided = self._decide_batch(items, stored, fresh, now)
                    changes = [
                        self._change_of(saga, stored[birth_id], actors[0], now, actors[1:])
                        for birth_id, (saga, actors) in decided.items()
                    ]
                    await sagas.save_many(session, changes)
            except sagas.ConcurrentUpdateError as exc:
                log.debug("saga.conflict", birth_ids=exc.args)
                metrics.SAGA_CONFLICTS.labels("replies").inc(len(exc.args))
                continue
            for (saga, _), change in zip(decided.values(), changes, strict=True):
                self._committed(saga, change, now)
            return results
        raise sagas.ConcurrentUpdateError(*{item.birth_id for item in items})

    def _decide_batch(
        self,
        items: Sequence[Item[Any]],
        stored: dict[str, sagas.StoredBirth],
        fresh: set[tuple[str, str]],
        now: datetime,
    ) -> tuple[list[Done[Any] | None], dict[str, tuple[Saga, list[str]]]]:
        """Each item's outcome, and each birth's saga with its first actor and
        then the actor of each of its transitions."""
        results: list[Done[Any] | None] = []
        decided: dict[str, tuple[Saga, list[str]]] = {}
        for item in items:
            if item.inbox is not None:
                if item.inbox not in fresh:  # applied before, or twice in the batch
                    results.append(Done(None, applied=False))
                    continue
                fresh.discard(item.inbox)
            if item.birth_id not in stored:
                results.append(None)
                continue
            if item.birth_id not in decided:
                decided[item.birth_id] = (self.saga_of(stored[item.birth_id]), [item.actor])
            saga, actors = decided[item.birth_id]
            result = item.decide(saga, now)
            actors.extend([item.actor] * (len(saga.transitions) + 1 - len(actors)))
            results.append(Done(result))
        return results, decided

    async def add(
        self,
        saga: Saga,
        birth: sagas.NewBirth,
        *,
        actor: str,
        unless: Callable[[AsyncSession], Awaitable[T | None]] | None = None,
    ) -> T | None:
        """Store a birth just accepted, its steps in their first state, its history
        and its first commands, in one transaction (IntegrityError: it raced).
        `unless` looks first in the same transaction: what it finds is returned
        and nothing is stored. Births added while another batch commits go in
        one transaction together (group commit)."""
        return cast(T | None, await self._adding(_Adding(saga, birth, actor, unless)))

    async def _add_together(self, batch: list[_Adding]) -> list[Any]:
        try:
            return await self._add_all(batch)
        except IntegrityError as exc:
            if len(batch) == 1:
                return [exc]
        # One of them raced another post: each alone, so that only it hears so.
        log.debug("saga.add.raced", births=len(batch))
        return [outcome for one in batch for outcome in await self._add_together([one])]

    async def _add_all(self, batch: list[_Adding]) -> list[Any]:
        now = self.clock.now()
        changes = [self._change_of(a.saga, _unsaved(a), a.actor, now) for a in batch]
        async with self.db.write() as session:
            found = [await a.unless(session) if a.unless else None for a in batch]
            new = [(a, c) for a, c, f in zip(batch, changes, found, strict=True) if f is None]
            await sagas.insert_births(session, [(a.birth, c) for a, c in new])
        for adding, change in new:
            self._committed(adding.saga, change, now)
        return found

    async def by_reference(self, department: str, reference: str) -> tuple[Saga, str] | None:
        """The saga (as read now; nothing is written) and the step that a
        department knows by `reference`; None when no step has it. References
        asked for together are read by one statement."""
        found = await self._referenced((department, reference))
        return None if found is None else (self.saga_of(found[0]), found[1])

    async def _read_references(
        self, references: list[tuple[str, str]]
    ) -> list[tuple[sagas.StoredBirth, str] | None]:
        async with self.db.read() as session:
            found = await sagas.load_by_references(session, references)
        return [found.get(reference) for reference in references]

    def saga_of(self, stored: sagas.StoredBirth) -> Saga:
        """The saga of a stored birth. Steps declared since it was accepted are
        added as not applicable; a step no longer declared is left out."""
        # Checked against the clock when it was posted; a stored birth stays valid.
        versions = {n: _event(e) for n, e in stored.versions.items()}
        steps = {s.step: _view(s) for s in stored.steps if s.step in self.plan.registry}
        saga = Saga(
            stored.id,
            _event(stored.event),
            BirthStatus(stored.status),
            steps,
            self.plan,
            self.policy,
            event_version=stored.event_version,
            versions=versions,
            cancel_reason=stored.cancel_reason,
            source=stored.event,
        )
        saga.adopt_new_steps()
        return saga

    def _change_of(
        self,
        saga: Saga,
        stored: sagas.StoredBirth,
        actor: str,
        now: datetime,
        actors: Sequence[str] = (),
    ) -> sagas.Change:
        """`actors`: who made each transition, when not all `actor`."""
        messages = outgoing(saga, stored.history_seq, now)
        change = sagas.Change(
            birth_id=saga.birth_id,
            read_version=stored.version,
            read_history_seq=stored.history_seq,
            status=saga.status.value,
            cancel_reason=saga.cancel_reason,
            actor=actor,
            now=now,
            history=[
                sagas.HistoryLine(
                    t.step, t.from_state, t.to_state, t.detail, actors[i] if actors else None
                )
                for i, t in enumerate(saga.transitions)
            ],
            outbox=[
                sagas.OutboxMessage(
                    m.envelope.message_id,
                    EXCHANGES[m.channel],
                    m.routing_key,
                    m.envelope.model_dump(mode="json"),
                )
                for m in messages
            ],
        )
        for view in saga.steps.values():
            if view.new:
                change.added.append(self._row(saga, view))
            elif view.changed:
                change.steps.append(self._row(saga, view))
        change.release_duplicate_key = (
            saga.status.cancel_asked and not BirthStatus(stored.status).cancel_asked
        )
        if saga.event_version != stored.event_version:
            change.new_version = sagas.NewVersion(
                saga.event_version,
                saga.source,
                saga.event.child.born_at,
                self.mother_hash(saga.event),
            )
        return change

    def _row(self, saga: Saga, view: StepView) -> sagas.StoredStep:
        return sagas.StoredStep(
            **{name: getattr(view, name) for name in SHARED},
            state=view.state.value,
            department=self.plan.department(view.step),
            idempotency_key=saga.idempotency_key(view.step),
        )

    def _committed(self, saga: Saga, change: sagas.Change, now: datetime) -> None:
        metrics.observe_saga(saga, now)
        if change.outbox:
            self._on_commit()


def _event(data: dict[str, object]) -> BirthEvent:
    return BirthEvent.model_validate(data, context={"time_rules": False})


def _view(step: sagas.StoredStep) -> StepView:
    view = StepView(**{name: getattr(step, name) for name in SHARED}, state=StepState(step.state))
    view.operation = cast(Operation | None, step.operation)
    view.output = dict(step.output)
    return view
