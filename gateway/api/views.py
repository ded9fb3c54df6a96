"""How births, steps and history are shown to hospitals and operators."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.steps import Step
from gateway.store.tables import Birth, BirthVersion, HistoryRow, StepRow

STEP_ORDER = {step.value: i for i, step in enumerate(Step)}


def links(birth_id: str) -> dict[str, str]:
    return {
        "self": f"/v1/births/{birth_id}",
        "history": f"/v1/births/{birth_id}/history",
        "tracking_page": "/track",
    }


async def steps_of(session: AsyncSession, birth_id: str) -> list[StepRow]:
    rows = (await session.scalars(select(StepRow).where(StepRow.birth_id == birth_id))).all()
    return sorted(rows, key=lambda r: STEP_ORDER[r.step])


async def birth_view(session: AsyncSession, birth: Birth) -> dict[str, Any]:
    steps = await steps_of(session, birth.id)
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
        "services": birth.event.get("services", [step.value for step in Step]),
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
