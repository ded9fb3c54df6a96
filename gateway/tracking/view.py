"""What a parent sees of a birth: each step's state in words, its time, its
documents (the citizen ID masked), and what to do when a step needs them.

The same view answers `GET /v1/track/{code}`, feeds the page's live stream, and
decides which steps are near a legal deadline (household registration one
month after the birth, medical insurance 90 days: `gateway.deadlines`)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.steps import BirthStatus, Step, StepState
from gateway.deadlines import CST, LEGAL_DEADLINES, NEAR_DEADLINE, SETTLED, urgency
from gateway.store.tables import Birth, HistoryRow, StepRow
from gateway.tracking import texts

NEEDS_PARENTS = frozenset({StepState.REJECTED, StepState.OFFLINE})
STEP_ORDER = {step.value: i for i, step in enumerate(Step)}


def mask_citizen_id(value: str) -> str:
    """First 6 and last 4 characters shown, the rest hidden."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def shown_output(output: dict[str, Any]) -> dict[str, Any]:
    """A step's output as parents may see it."""
    return {
        key: mask_citizen_id(value) if key == "citizen_id" and value else value
        for key, value in output.items()
    }


def _deadline(
    step: Step, state: StepState, born_at: datetime, now: datetime, near: timedelta
) -> dict[str, Any]:
    """The legal deadline of an open step (gateway.deadlines): its last day, the
    days left, and whether it is near or past."""
    rule = LEGAL_DEADLINES.get(step)
    if rule is None or state in SETTLED:
        return {}
    last_day = rule.last_day(born_at.astimezone(CST).date())
    level = urgency(rule.due(born_at), now, near)
    return {
        "deadline": last_day.isoformat(),
        "days_left": (last_day - now.astimezone(CST).date()).days,
        "near_deadline": level != "ok",
        "deadline_passed": level == "past",
    }


def _instruction(row: StepRow, state: StepState, deadline: dict[str, Any]) -> texts.Text | None:
    step = Step(row.step)
    reason = row.last_error or ""
    if state == StepState.REJECTED:
        return texts.rejected(texts.parent_reason(reason))
    if state == StepState.OFFLINE:
        return texts.offline(step, reason)
    if deadline.get("near_deadline"):
        return texts.near_deadline(
            step, deadline["deadline"], deadline["days_left"], passed=deadline["deadline_passed"]
        )
    return None


def _shown_reason(row: StepRow, state: StepState) -> str | None:
    if state == StepState.REJECTED:
        return texts.parent_reason(row.last_error)
    return row.last_error if state in NEEDS_PARENTS else None


def step_view(
    row: StepRow,
    born_at: datetime,
    now: datetime,
    changed_at: datetime | None = None,
    near: timedelta = NEAR_DEADLINE,
) -> dict[str, Any]:
    """One step of the timeline; `changed_at`: when its state last changed."""
    step, state = Step(row.step), StepState(row.state)
    output = shown_output(row.output)
    deadline = _deadline(step, state, born_at, now, near)
    instruction = _instruction(row, state, deadline)
    return {
        "step": step.value,
        "title": texts.STEP_TITLES[step],
        "state": state.value,
        "state_text": texts.STATE_WORDS[state],
        "updated_at": (changed_at or row.updated_at).isoformat(),
        "output": output,
        "documents": [
            {"name": key, "label": texts.DOCUMENT_LABELS.get(key, texts.t(key, key)), "value": v}
            for key, v in output.items()
            if v
        ],
        # The reason, only where it tells the parents what to do; a department's
        # technical error never (operators see it in the birth's view).
        "reason": _shown_reason(row, state),
        "needs_parents": instruction is not None,
        "instruction": instruction,
        **deadline,
    }


async def load_view(
    session: AsyncSession, birth: Birth, now: datetime, near: timedelta = NEAR_DEADLINE
) -> dict[str, Any]:
    """The view of `birth` as stored now; `near`: how close to a legal deadline an
    open step is flagged."""
    rows = (await session.scalars(select(StepRow).where(StepRow.birth_id == birth.id))).all()
    steps = sorted(rows, key=lambda r: STEP_ORDER[r.step])
    # When each step last changed state: its newest history line (a poll of the
    # department touches the step row but is no change for the parents).
    changed = await session.execute(
        select(HistoryRow.step, func.max(HistoryRow.at))
        .where(HistoryRow.birth_id == birth.id, HistoryRow.step.is_not(None))
        .group_by(HistoryRow.step)
    )
    return parent_view(birth, steps, dict(changed.all()), now, near)


def parent_view(
    birth: Birth,
    steps: list[StepRow],
    changed_at: dict[str | None, datetime],
    now: datetime,
    near: timedelta = NEAR_DEADLINE,
) -> dict[str, Any]:
    """The whole view; `version` changes with every change to the birth."""
    status = BirthStatus(birth.status)
    shown = [step_view(row, birth.born_at, now, changed_at.get(row.step), near) for row in steps]
    offline = any(s["state"] == StepState.OFFLINE for s in shown)
    if status == BirthStatus.COMPLETED:
        summary = texts.PAGE["all_done_offline" if offline else "all_done"]
    elif any(s["needs_parents"] for s in shown):
        summary = texts.PAGE["action_needed"]
    else:
        summary = texts.PAGE["in_progress"]
    return {
        "tracking_code": birth.tracking_code,
        "status": status.value,
        "status_text": texts.STATUS_WORDS[status],
        "all_done": status == BirthStatus.COMPLETED,
        "summary": summary,
        "version": birth.version,
        "updated_at": birth.updated_at.isoformat(),
        "steps": shown,
    }
