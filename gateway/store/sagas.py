"""Loading and saving sagas: the birth row, its steps, history and outbox
commit together; `version` makes concurrent writers detect each other."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bus.topology import COMMANDS_EXCHANGE
from contracts.birth import BirthEvent
from contracts.commands import POLL_TYPE, SUBMIT_TYPES, PollDepartment, SubmitStep, routing_key
from contracts.envelope import Envelope
from contracts.steps import DEPARTMENT_OF, BirthStatus, Step, StepState
from gateway import notifications
from gateway.saga.machine import Dispatch, Operation, Saga, StepView
from gateway.saga.plan import Plan
from gateway.store.tables import Birth, BirthVersion, HistoryRow, OutboxRow, StepRow


class ConcurrentUpdateError(Exception):
    """Another writer changed the birth first: reload and decide again."""


class Loaded:
    """A saga with the row versions it was loaded at."""

    def __init__(self, saga: Saga, version: int, history_seq: int) -> None:
        self.saga, self.version, self.history_seq = saga, version, history_seq


async def load(session: AsyncSession, birth_id: str, plan: Plan, policy: Any) -> Loaded | None:
    birth = await session.get(Birth, birth_id)
    if birth is None:
        return None
    rows = (await session.scalars(select(StepRow).where(StepRow.birth_id == birth_id))).all()
    steps = {
        Step(r.step): StepView(
            step=Step(r.step),
            state=StepState(r.state),
            attempt=r.attempt,
            next_attempt_at=r.next_attempt_at,
            deadline_at=r.deadline_at,
            department_ref=r.department_ref,
            output=dict(r.output),
            last_error=r.last_error,
            started_at=r.started_at,
            finished_at=r.finished_at,
            data_version=r.data_version,
            operation=cast(Operation | None, r.operation),
            op_version=r.op_version,
        )
        for r in rows
    }
    # Checked against the clock when it was posted; a stored birth stays valid.
    event = BirthEvent.model_validate(birth.event, context={"time_rules": False})
    saga = Saga(
        birth.id,
        event,
        BirthStatus(birth.status),
        steps,
        plan,
        policy,
        event_version=birth.event_version,
        versions=await _versions_in_use(session, birth, steps.values()),
        cancel_reason=birth.cancel_reason,
    )
    return Loaded(saga, birth.version, birth.history_seq)


async def _versions_in_use(
    session: AsyncSession, birth: Birth, steps: Iterable[StepView]
) -> dict[int, BirthEvent]:
    """The older event versions that steps still refer to (held by a department, or
    carried by an amendment); usually none."""
    wanted = {v.data_version for v in steps} | {v.op_version for v in steps if v.op_version}
    wanted.discard(birth.event_version)
    if not wanted:
        return {}
    rows = await session.scalars(
        select(BirthVersion).where(
            BirthVersion.birth_id == birth.id, BirthVersion.event_version.in_(wanted)
        )
    )
    return {
        row.event_version: BirthEvent.model_validate(row.event, context={"time_rules": False})
        for row in rows
    }


async def add_version(
    session: AsyncSession,
    birth_id: str,
    event: BirthEvent,
    event_json: dict[str, Any],
    *,
    version: int,
    mother_hash: str,
    actor: str,
    now: datetime,
) -> None:
    """Keep a corrected event as the birth's current version (with `save`, in the
    same transaction, whose version check guards it). `body_hash` stays the
    original post's: the same post again still answers with the birth."""
    await session.execute(
        update(Birth)
        .where(Birth.id == birth_id)
        .values(
            event=event_json,
            event_version=version,
            born_at=event.child.born_at,
            mother_hash=mother_hash,
        )
    )
    session.add(
        BirthVersion(
            birth_id=birth_id, event_version=version, event=event_json, actor=actor, created_at=now
        )
    )


def insert_new(
    session: AsyncSession,
    saga: Saga,
    *,
    hospital_code: str,
    hospital_record_id: str,
    tracking_code: str,
    body_hash: str,
    event_json: dict[str, Any],
    actor: str,
    now: datetime,
    mother_hash: str | None = None,
) -> None:
    """Add a birth just accepted; `save` then writes its steps, history and outbox."""
    session.add(
        Birth(
            id=saga.birth_id,
            hospital_code=hospital_code,
            hospital_record_id=hospital_record_id,
            tracking_code=tracking_code,
            born_at=saga.event.child.born_at,
            status=saga.status.value,
            event=event_json,
            body_hash=body_hash,
            event_version=1,
            mother_hash=mother_hash,
            version=0,
            history_seq=0,
            created_at=now,
            updated_at=now,
        )
    )
    session.add(
        BirthVersion(
            birth_id=saga.birth_id, event_version=1, event=event_json, actor=actor, created_at=now
        )
    )
    for view in saga.steps.values():
        session.add(
            StepRow(
                birth_id=saga.birth_id,
                step=view.step.value,
                department=DEPARTMENT_OF[view.step].value,
                state=view.state.value,
                attempt=0,
                idempotency_key=saga.idempotency_key(view.step),
                output={},
                updated_at=now,
            )
        )


async def save(
    session: AsyncSession, loaded: Loaded, *, actor: str, now: datetime
) -> list[Envelope]:
    """Write what the saga changed; return the envelopes put in the outbox."""
    saga = loaded.saga
    if (
        not saga.transitions
        and not saga.dispatches
        and not any(v.changed for v in saga.steps.values())
    ):
        return []
    await session.flush()
    seq = loaded.history_seq + len(saga.transitions)
    result = await session.execute(
        update(Birth)
        .where(Birth.id == saga.birth_id, Birth.version == loaded.version)
        .values(
            status=saga.status.value,
            version=loaded.version + 1,
            history_seq=seq,
            updated_at=now,
            cancel_reason=saga.cancel_reason,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentUpdateError(saga.birth_id)
    for view in saga.steps.values():
        if view.changed:
            await session.execute(
                update(StepRow)
                .where(StepRow.birth_id == saga.birth_id, StepRow.step == view.step.value)
                .values(
                    state=view.state.value,
                    attempt=view.attempt,
                    next_attempt_at=view.next_attempt_at,
                    deadline_at=view.deadline_at,
                    department_ref=view.department_ref,
                    output=view.output,
                    last_error=view.last_error,
                    started_at=view.started_at,
                    finished_at=view.finished_at,
                    data_version=view.data_version,
                    operation=view.operation,
                    op_version=view.op_version,
                    updated_at=now,
                )
            )
    if saga.transitions:
        await session.execute(
            insert(HistoryRow),
            [
                {
                    "birth_id": saga.birth_id,
                    "seq": loaded.history_seq + i,
                    "at": now,
                    "actor": actor,
                    "step": t.step.value if t.step else None,
                    "from_state": t.from_state,
                    "to_state": t.to_state,
                    "detail": t.detail,
                }
                for i, t in enumerate(saga.transitions, start=1)
            ],
        )
    commands = [command_envelope(saga, d, now) for d in saga.dispatches]
    if commands:
        await session.execute(
            insert(OutboxRow),
            [
                {
                    "message_id": env.message_id,
                    "exchange": COMMANDS_EXCHANGE,
                    "routing_key": key,
                    "envelope": env.model_dump(mode="json"),
                    "created_at": now,
                }
                for key, env in commands
            ],
        )
    # Messages to the parents commit with the change that causes them (issue 5).
    notices = notifications.for_transitions(saga, loaded.history_seq, now)
    if notices:
        await session.execute(insert(OutboxRow), notices)
    return [env for _, env in commands]


def command_envelope(saga: Saga, dispatch: Dispatch, now: datetime) -> tuple[str, Envelope]:
    """The routing key and command for one dispatch, with the step's stable
    idempotency key."""
    key = saga.idempotency_key(dispatch.step)
    data: dict[str, Any]
    if dispatch.action == "poll":
        assert dispatch.reference is not None
        data = PollDepartment(idempotency_key=key, reference=dispatch.reference).model_dump()
        kind = POLL_TYPE
    elif dispatch.action in ("amend", "revoke"):
        kind, data = saga.operation_command(dispatch)
    else:
        record = saga.plan.record(dispatch.step, saga.event, saga.outputs())
        data = SubmitStep(idempotency_key=key, record=record.model_dump(mode="json")).model_dump()
        kind = SUBMIT_TYPES[dispatch.step]
    envelope = Envelope(
        type=kind,
        birth_id=saga.birth_id,
        step=dispatch.step,
        attempt=dispatch.attempt,
        occurred_at=now,
        data=data,
    )
    return routing_key(DEPARTMENT_OF[dispatch.step].value, dispatch.action), envelope
