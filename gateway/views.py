"""The read model: how births, steps and history are shown to hospitals and
operators, for the API and the CLI alike (one meaning for every filter)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import Registry
from contracts.steps import BirthStatus, StepState
from gateway import deadlines
from gateway.store.tables import Birth, BirthVersion, HistoryRow, StepRow

Urgency = Literal["near", "past"]


def links(birth_id: str) -> dict[str, str]:
    return {
        "self": f"/v1/births/{birth_id}",
        "history": f"/v1/births/{birth_id}/history",
        "tracking_page": "/track",
    }


def in_order(registry: Registry, rows: Sequence[StepRow]) -> list[StepRow]:
    """Step rows in the registry's order; a step no longer declared comes last."""
    order = {name: i for i, name in enumerate(registry.names)}
    return sorted(rows, key=lambda r: order.get(r.step, len(order)))


async def birth_view(session: AsyncSession, registry: Registry, birth: Birth) -> dict[str, Any]:
    rows = (await session.scalars(select(StepRow).where(StepRow.birth_id == birth.id))).all()
    steps = in_order(registry, rows)
    versions = (
        await session.scalars(
            select(BirthVersion)
            .where(BirthVersion.birth_id == birth.id)
            .order_by(BirthVersion.event_version)
        )
    ).all()
    return {
        "birth_id": birth.id,
        "hospital_code": birth.hospital_code,
        "hospital_record_id": birth.hospital_record_id,
        "tracking_code": birth.tracking_code,
        "status": birth.status,
        "created_at": birth.created_at.isoformat(),
        "updated_at": birth.updated_at.isoformat(),
        "event_version": birth.event_version,
        # What the parents agreed to and asked for (kept with the birth).
        "consent": birth.event.get("consent"),
        "services": birth.event.get("services", list(registry.names)),
        "cancel_reason": birth.cancel_reason,
        "steps": [
            {
                "step": s.step,
                "department": s.department,
                "state": s.state,
                "attempt": s.attempt,
                "output": s.output,
                "department_ref": s.department_ref,
                "last_error": s.last_error,
                "data_version": s.data_version,
                "operation": s.operation,
                "next_attempt_at": _iso(s.next_attempt_at),
                "deadline_at": _iso(s.deadline_at),
                "started_at": _iso(s.started_at),
                "finished_at": _iso(s.finished_at),
                "updated_at": s.updated_at.isoformat(),
            }
            for s in steps
        ],
        "versions": [
            {
                "event_version": v.event_version,
                "actor": v.actor,
                "created_at": v.created_at.isoformat(),
            }
            for v in versions
        ],
        "links": links(birth.id),
    }


async def history_view(session: AsyncSession, birth_id: str) -> list[dict[str, Any]]:
    rows = (
        await session.scalars(
            select(HistoryRow).where(HistoryRow.birth_id == birth_id).order_by(HistoryRow.seq)
        )
    ).all()
    return [
        {
            "seq": r.seq,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "step": r.step,
            "from": r.from_state,
            "to": r.to_state,
            "detail": r.detail,
        }
        for r in rows
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class BirthFilter:
    """Which births an operator (or a hospital, its own) lists. `department`:
    with `step_state`, that department's step is in it; alone, the births whose
    step at that department is not settled yet."""

    status: BirthStatus | None = None
    step_state: StepState | None = None
    department: str | None = None
    hospital: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    deadline: Urgency | None = None
    after: tuple[datetime, str] | None = None  # (created_at, birth id) of the last one seen


async def find_births(
    session: AsyncSession,
    registry: Registry,
    query: BirthFilter,
    *,
    limit: int,
    now: datetime,
    near: timedelta,
) -> tuple[list[dict[str, Any]], bool]:
    """A page of births matching `query`, newest first, as summaries; and
    whether more follow."""
    found = select(Birth)
    if query.status:
        found = found.where(Birth.status == query.status.value)
    if query.hospital:
        found = found.where(Birth.hospital_code == query.hospital)
    if query.created_from:
        found = found.where(Birth.created_at >= query.created_from)
    if query.created_to:
        found = found.where(Birth.created_at < query.created_to)
    if query.step_state or query.department:
        conditions = [StepRow.birth_id == Birth.id]
        if query.step_state:
            conditions.append(StepRow.state == query.step_state.value)
        if query.department:
            conditions.append(StepRow.department == query.department)
            if not query.step_state:
                conditions.append(StepRow.state.not_in([s.value for s in deadlines.SETTLED]))
        found = found.where(exists().where(*conditions))
    if query.deadline:
        found = found.where(_deadline_filter(registry, query.deadline, now, near))
    if query.after:
        at, birth_id = query.after
        found = found.where(
            or_(Birth.created_at < at, and_(Birth.created_at == at, Birth.id < birth_id))
        )
    found = found.order_by(Birth.created_at.desc(), Birth.id.desc()).limit(limit + 1)
    births = list((await session.scalars(found)).all())
    page = births[:limit]
    rows = (
        await session.scalars(select(StepRow).where(StepRow.birth_id.in_([b.id for b in page])))
    ).all()
    steps: dict[str, list[StepRow]] = {}
    for row in rows:
        steps.setdefault(row.birth_id, []).append(row)
    summaries = [_summary(registry, b, steps.get(b.id, []), now, near) for b in page]
    return summaries, len(births) > limit


def _deadline_filter(
    registry: Registry, urgency: Urgency, now: datetime, near: timedelta
) -> ColumnElement[bool]:
    """Births with an open step whose legal deadline is past (or near)."""
    clauses = []
    for step, deadline in deadlines.legal_deadlines(registry).items():
        past_before = deadline.born_before(now)
        if urgency == "past":
            born = Birth.born_at < past_before
        else:
            born = and_(
                Birth.born_at >= past_before, Birth.born_at < deadline.born_before(now + near)
            )
        open_step = exists().where(
            StepRow.birth_id == Birth.id,
            StepRow.step == step,
            StepRow.state.not_in([s.value for s in deadlines.SETTLED]),
        )
        clauses.append(and_(born, open_step))
    return or_(*clauses)


def _summary(
    registry: Registry, birth: Birth, rows: list[StepRow], now: datetime, near: timedelta
) -> dict[str, Any]:
    steps = in_order(registry, rows)
    states = {s.step: StepState(s.state) for s in steps}
    return {
        "birth_id": birth.id,
        "hospital_code": birth.hospital_code,
        "hospital_record_id": birth.hospital_record_id,
        "status": birth.status,
        "born_at": birth.born_at.isoformat(),
        "created_at": birth.created_at.isoformat(),
        "updated_at": birth.updated_at.isoformat(),
        "steps": [
            {
                "step": s.step,
                "department": s.department,
                "state": s.state,
                "attempt": s.attempt,
                "last_error": s.last_error,
                "next_attempt_at": _iso(s.next_attempt_at),
            }
            for s in steps
        ],
        "deadlines": deadlines.flags(registry, birth.born_at, states, now, near),
        "links": links(birth.id),
    }
