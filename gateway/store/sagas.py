"""Persisting births as plain data: load a birth with its steps, save one
change (birth row, step rows, history, outbox, a new event version) in the
caller's transaction. `version` makes concurrent writers detect each other.

The store only persists: it knows its tables and the contracts, never the saga
machine, the bus or settings (the unit of work maps between them).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import Birth, BirthVersion, HistoryRow, InboxRow, OutboxRow, StepRow


class ConcurrentUpdateError(Exception):
    """Another writer changed the birth first: reload and decide again."""


@dataclass
class StoredStep:
    """A step row."""

    step: str
    department: str
    state: str
    attempt: int = 0
    next_attempt_at: datetime | None = None
    deadline_at: datetime | None = None
    department_ref: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    last_error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    data_version: int = 1
    operation: str | None = None
    op_version: int | None = None
    idempotency_key: str = ""  # written once, with the row


STEP_COLUMNS = tuple(StoredStep.__dataclass_fields__)

# The hot statements work on the tables, not the entities, and are made once:
# no ORM layer, each cache key computed once. Rows go in as parameters, one
# executemany a table whatever columns are None (the ORM's bulk insert splits
# rows by the columns it may leave out).
_BIRTHS, _VERSIONS, _STEPS, _HISTORY, _OUTBOX = (
    cast(Table, row.__table__) for row in (Birth, BirthVersion, StepRow, HistoryRow, OutboxRow)
)
_INSERT_BIRTH, _INSERT_VERSION, _INSERT_STEPS, _INSERT_HISTORY, _INSERT_OUTBOX = (
    insert(table) for table in (_BIRTHS, _VERSIONS, _STEPS, _HISTORY, _OUTBOX)
)
# A birth and its steps in one statement: a row a step, the birth's columns
# beside each, its event (the one large, sealed column) on its first row only.
_FIRST_ROW = func.row_number().over(partition_by=_BIRTHS.c.id, order_by=_STEPS.c.step) == 1
_BIRTH_AND_STEPS = select(
    *(
        _BIRTHS.c[name]
        for name in ("id", "status", "event_version", "version", "history_seq", "cancel_reason")
    ),
    case((_FIRST_ROW, _BIRTHS.c.event)).label("event"),
    *(_STEPS.c[name] for name in STEP_COLUMNS),
).outerjoin_from(_BIRTHS, _STEPS, _STEPS.c.birth_id == _BIRTHS.c.id)
LOAD_BY_ID = _BIRTH_AND_STEPS.where(_BIRTHS.c.id.in_(bindparam("ids", expanding=True)))
_REFERENCED = _STEPS.alias("referenced")
LOAD_BY_REFERENCES = _BIRTH_AND_STEPS.where(
    _BIRTHS.c.id.in_(
        select(_REFERENCED.c.birth_id).where(
            tuple_(_REFERENCED.c.department, _REFERENCED.c.department_ref).in_(
                bindparam("references", expanding=True)
            )
        )
    )
)
# A step's row changes in all but its key, department and idempotency key.
_STEP_CHANGES = tuple(
    name for name in STEP_COLUMNS if name not in ("step", "department", "idempotency_key")
)
_UPDATE_STEP = (
    update(_STEPS)
    .where(_STEPS.c.birth_id == bindparam("key_birth"), _STEPS.c.step == bindparam("key_step"))
    .values({name: bindparam(name) for name in (*_STEP_CHANGES, "updated_at")})
)


@dataclass(frozen=True)
class StoredBirth:
    """A birth as loaded: its row's fields, its steps, and the older event
    versions that its steps still refer to (by version number)."""

    id: str
    status: str
    event: dict[str, Any]
    event_version: int
    version: int
    history_seq: int
    cancel_reason: str | None
    steps: list[StoredStep]
    versions: dict[int, dict[str, Any]]


@dataclass(frozen=True)
class HistoryLine:
    step: str | None
    from_state: str | None
    to_state: str
    detail: str | None
    actor: str | None = None  # None: the change's actor


@dataclass(frozen=True)
class OutboxMessage:
    message_id: str
    exchange: str
    routing_key: str
    envelope: dict[str, Any]


@dataclass(frozen=True)
class NewVersion:
    """A corrected event kept as the birth's current version."""

    event_version: int
    event: dict[str, Any]
    born_at: datetime
    mother_hash: str


@dataclass
class Change:
    """What one decision writes about one birth, against the version it read."""

    birth_id: str
    read_version: int
    read_history_seq: int
    status: str
    cancel_reason: str | None
    actor: str
    now: datetime
    steps: list[StoredStep] = field(default_factory=list)  # changed rows
    added: list[StoredStep] = field(default_factory=list)  # rows to insert
    history: list[HistoryLine] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)
    new_version: NewVersion | None = None
    release_duplicate_key: bool = False  # the birth no longer counts as a duplicate

    @property
    def empty(self) -> bool:
        return not (self.steps or self.added or self.history or self.outbox or self.new_version)


@dataclass(frozen=True)
class NewBirth:
    """The row of a birth just accepted (its steps come with the first change)."""

    id: str
    hospital_code: str
    hospital_record_id: str
    tracking_code: str
    born_at: datetime
    event: dict[str, Any]
    body_hash: str
    mother_hash: str | None
    duplicate_key: str | None = None


async def load(session: AsyncSession, birth_id: str) -> StoredBirth | None:
    return (await load_many(session, [birth_id])).get(birth_id)


async def load_many(session: AsyncSession, birth_ids: Iterable[str]) -> dict[str, StoredBirth]:
    """Several births with their steps: one statement, whatever their number."""
    return await _load(session, LOAD_BY_ID, {"ids": sorted(set(birth_ids))})


async def load_by_references(
    session: AsyncSession, references: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[StoredBirth, str]]:
    """The birth and step that each department knows by each reference (pairs of
    department and reference; those unknown are left out): one statement."""
    wanted = set(references)
    found = await _load(session, LOAD_BY_REFERENCES, {"references": sorted(wanted)})
    return {
        (step.department, step.department_ref): (birth, step.step)
        for birth in found.values()
        for step in birth.steps
        if step.department_ref is not None and (step.department, step.department_ref) in wanted
    }


async def _load(
    session: AsyncSession, births_where: Select[Any], params: dict[str, Any]
) -> dict[str, StoredBirth]:
    firsts: dict[str, Any] = {}
    steps: dict[str, list[StoredStep]] = {}
    for row in await session.execute(births_where, params):
        if row.event is not None:
            firsts[row.id] = row
        steps.setdefault(row.id, [])
        if row.step is not None:  # None: a birth without steps (outer join)
            steps[row.id].append(StoredStep(**{n: getattr(row, n) for n in STEP_COLUMNS}))
    found: dict[str, StoredBirth] = {}
    for birth in firsts.values():
        found[birth.id] = StoredBirth(
            id=birth.id,
            status=birth.status,
            event=birth.event,
            event_version=birth.event_version,
            version=birth.version,
            history_seq=birth.history_seq,
            cancel_reason=birth.cancel_reason,
            steps=steps[birth.id],
            versions=await _versions_in_use(session, birth, steps[birth.id]),
        )
    return found


async def _versions_in_use(
    session: AsyncSession, birth: Any, steps: Iterable[StoredStep]
) -> dict[int, dict[str, Any]]:
    """The older event versions that steps still refer to (held by a department, or
    carried by an amendment); usually none."""
    wanted = {s.data_version for s in steps} | {s.op_version for s in steps if s.op_version}
    wanted.discard(birth.event_version)
    if not wanted:
        return {}
    rows = await session.scalars(
        select(BirthVersion).where(
            BirthVersion.birth_id == birth.id, BirthVersion.event_version.in_(wanted)
        )
    )
    return {row.event_version: row.event for row in rows}


async def insert_births(session: AsyncSession, births: Sequence[tuple[NewBirth, Change]]) -> None:
    """Add births just accepted, each as its change leaves it (version 1): their
    rows, first event versions, steps, history and outbox, one statement a table
    however many births."""
    if not births:
        return
    await session.execute(
        _INSERT_BIRTH,
        [
            {
                "id": birth.id,
                "hospital_code": birth.hospital_code,
                "hospital_record_id": birth.hospital_record_id,
                "tracking_code": birth.tracking_code,
                "born_at": birth.born_at,
                "status": change.status,
                "event": birth.event,
                "body_hash": birth.body_hash,
                "event_version": 1,
                "mother_hash": birth.mother_hash,
                "duplicate_key": birth.duplicate_key,
                "version": 1,
                "history_seq": len(change.history),
                "cancel_reason": change.cancel_reason,
                "created_at": change.now,
                "updated_at": change.now,
            }
            for birth, change in births
        ],
    )
    await session.execute(
        _INSERT_VERSION,
        [
            {
                "birth_id": birth.id,
                "event_version": 1,
                "event": birth.event,
                "actor": change.actor,
                "created_at": change.now,
            }
            for birth, change in births
        ],
    )
    await _write_rows(session, [change for _, change in births])


async def save(session: AsyncSession, change: Change) -> None:
    """Write `change`; `ConcurrentUpdateError` when the birth moved since it was read."""
    if change.empty:
        return
    await session.flush()
    seq = change.read_history_seq + len(change.history)
    values: dict[str, Any] = {
        "status": change.status,
        "version": change.read_version + 1,
        "history_seq": seq,
        "updated_at": change.now,
        "cancel_reason": change.cancel_reason,
    }
    if change.release_duplicate_key:
        values["duplicate_key"] = None
    if change.new_version:
        values |= {
            "event": change.new_version.event,
            "event_version": change.new_version.event_version,
            "born_at": change.new_version.born_at,
            "mother_hash": change.new_version.mother_hash,
        }
    result = await session.execute(
        update(Birth)
        .where(Birth.id == change.birth_id, Birth.version == change.read_version)
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentUpdateError(change.birth_id)
    if change.new_version:
        session.add(
            BirthVersion(
                birth_id=change.birth_id,
                event_version=change.new_version.event_version,
                event=change.new_version.event,
                actor=change.actor,
                created_at=change.now,
            )
        )
    await _write_rows(session, [change])


async def save_many(session: AsyncSession, changes: Iterable[Change]) -> None:
    """Write several births' changes with one statement per table: the births
    (each against the version it was read at), their steps, history and outbox.
    `ConcurrentUpdateError` when any birth moved since it was read."""
    changes = [c for c in changes if not c.empty]
    for change in [c for c in changes if c.new_version]:  # corrections: rare, alone
        await save(session, change)
    changes = [c for c in changes if not c.new_version]
    if not changes:
        return
    await session.flush()
    by_id = {c.birth_id: c for c in changes}

    def per_birth(values: dict[str, Any], otherwise: Any) -> Any:
        return case(values, value=Birth.id, else_=otherwise)

    released = [c.birth_id for c in changes if c.release_duplicate_key]
    moved = await session.execute(
        update(Birth)
        .where(
            or_(*((Birth.id == c.birth_id) & (Birth.version == c.read_version) for c in changes))
        )
        .values(
            status=per_birth({c.birth_id: c.status for c in changes}, Birth.status),
            cancel_reason=per_birth(
                {c.birth_id: c.cancel_reason for c in changes}, Birth.cancel_reason
            ),
            history_seq=per_birth(
                {c.birth_id: c.read_history_seq + len(c.history) for c in changes},
                Birth.history_seq,
            ),
            version=Birth.version + 1,
            updated_at=max(c.now for c in changes),
            duplicate_key=case((Birth.id.in_(released), None), else_=Birth.duplicate_key)
            if released
            else Birth.duplicate_key,
        )
        .returning(Birth.id)
    )
    missing = set(by_id) - set(moved.scalars())
    if missing:
        raise ConcurrentUpdateError(*sorted(missing))
    await _write_rows(session, changes)


async def _write_rows(session: AsyncSession, changes: list[Change]) -> None:
    """The step, history and outbox rows of `changes`: one statement per table."""
    added = [
        {"birth_id": c.birth_id, "updated_at": c.now, **_columns(step)}
        for c in changes
        for step in c.added
    ]
    if added:
        await session.execute(_INSERT_STEPS, added)
    changed = [
        {"key_birth": c.birth_id, "key_step": step.step, "updated_at": c.now}
        | {name: getattr(step, name) for name in _STEP_CHANGES}
        for c in changes
        for step in c.steps
    ]
    if changed:  # one executemany by primary key
        await session.execute(_UPDATE_STEP, changed)
    history = [
        {
            "birth_id": c.birth_id,
            "seq": c.read_history_seq + i,
            "at": c.now,
            "actor": line.actor or c.actor,
            "step": line.step,
            "from_state": line.from_state,
            "to_state": line.to_state,
            "detail": line.detail,
        }
        for c in changes
        for i, line in enumerate(c.history, start=1)
    ]
    if history:
        await session.execute(_INSERT_HISTORY, history)
    outbox = [
        {
            "message_id": m.message_id,
            "exchange": m.exchange,
            "routing_key": m.routing_key,
            "envelope": m.envelope,
            "created_at": c.now,
        }
        for c in changes
        for m in c.outbox
    ]
    if outbox:
        await session.execute(_INSERT_OUTBOX, outbox)


def _columns(step: StoredStep) -> dict[str, Any]:
    return {name: getattr(step, name) for name in STEP_COLUMNS}


async def claim(session: AsyncSession, consumer: str, message_id: str, *, now: datetime) -> bool:
    """Record the message as applied; False when it already was."""
    if await session.get(InboxRow, (consumer, message_id)) is not None:
        return False
    # Only a clash on this row means "applied meanwhile by another consumer"; any
    # other integrity error is a failure of the change itself and must reach the
    # bus (redelivered, then dead-lettered), not be acked as a duplicate.
    try:
        async with session.begin_nested():
            session.add(InboxRow(consumer=consumer, message_id=message_id, received_at=now))
    except IntegrityError:
        return False
    return True


async def due_now(session: AsyncSession, states: Iterable[str], *, now: datetime) -> int:
    """Make the steps in `states` that wait for a later time due `now` (their
    commands were lost with a bus that does not survive restarts); how many."""
    result = await session.execute(
        update(StepRow)
        .where(StepRow.state.in_(list(states)), StepRow.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
