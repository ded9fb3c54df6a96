"""What a parent sees of a birth: each step's state in words, its time, its
documents (the citizen ID masked), and what to do when a step needs them.

The same view answers `GET /v1/track/{code}`, feeds the page's live stream, and
decides which steps are near a legal deadline (household registration one
month after the birth, medical insurance 90 days: `gateway.deadlines`)."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.birth import BirthEvent
from contracts.registry import CST, Registry, StepSpec, Text, text
from contracts.steps import BirthStatus, StepState
from gateway.deadlines import NEAR_DEADLINE, SETTLED, urgency
from gateway.store.tables import Birth, HistoryRow, StepRow
from gateway.tracking import texts

NEEDS_PARENTS = frozenset({StepState.REJECTED, StepState.OFFLINE})


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
    spec: StepSpec, state: StepState, born_at: datetime, now: datetime, near: timedelta
) -> dict[str, Any]:
    """The legal deadline of an open step (gateway.deadlines): its last day, the
    days left, and whether it is near or past."""
    rule = spec.deadline
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


def _instruction(
    spec: StepSpec, row: StepRow, state: StepState, deadline: dict[str, Any]
) -> Text | None:
    reason = row.last_error or ""
    if state == StepState.REJECTED:
        return texts.rejected(texts.parent_reason(reason))
    if state == StepState.OFFLINE:
        return texts.offline(spec, reason)
    if deadline.get("near_deadline"):
        return texts.near_deadline(
            spec, deadline["deadline"], deadline["days_left"], passed=deadline["deadline_passed"]
        )
    return None


def _shown_reason(row: StepRow, state: StepState) -> str | None:
    if state == StepState.REJECTED:
        return texts.parent_reason(row.last_error)
    return row.last_error if state in NEEDS_PARENTS else None


def bilingual(reason: str | None) -> Text | None:
    """A stored reason `english / 中文` (contracts.benefits) as a text in both languages."""
    if not reason:
        return None
    en, _, zh = reason.rpartition(" / ")
    return text(zh, en) if en else text(reason, reason)


def yuan(fen: int | None) -> str | None:
    return None if fen is None else f"{fen / 100:,.2f}".removesuffix(".00")


def _months(first: str, last: str) -> int:
    (fy, fm), (ly, lm) = (map(int, first.split("-")), map(int, last.split("-")))
    return (ly * 12 + lm) - (fy * 12 + fm) + 1


def benefit_view(spec: StepSpec, row: StepRow, event: BirthEvent | None) -> dict[str, Any]:
    """A benefit as parents see it: each programme's answer (the amount a month and
    the months, or why not), whether they can confirm it now, and who is paid."""
    state = StepState(row.state)
    programmes = []
    if spec.explain is not None and event is not None:
        for d in spec.explain(event):
            months = (
                _months(d.first_month, d.last_month) if d.first_month and d.last_month else None
            )
            programmes.append(
                {
                    "code": d.code,
                    "title": d.title,
                    "eligible": d.eligible,
                    "reason": d.reason,
                    "monthly_amount_fen": d.monthly_amount_fen,
                    "monthly_amount_yuan": yuan(d.monthly_amount_fen),
                    "first_month": d.first_month,
                    "last_month": d.last_month,
                    "months": months,
                }
            )
    output = row.output
    amount = output.get("amount_fen")
    return {
        "can_decide": state == StepState.AWAITING_PARENTS,
        "programmes": programmes,
        "reason": bilingual(row.last_error) if state == StepState.NOT_APPLICABLE else None,
        "paid_to": output.get("paid_to"),
        "amount_yuan": yuan(int(amount)) if amount and str(amount).isdigit() else None,
        "days": output.get("days"),
        "payment_date": output.get("payment_date"),
    }


def step_view(
    spec: StepSpec,
    row: StepRow,
    born_at: datetime,
    now: datetime,
    changed_at: datetime | None = None,
    near: timedelta = NEAR_DEADLINE,
    labels: Mapping[str, Text] | None = None,
    event: BirthEvent | None = None,
) -> dict[str, Any]:
    """One step of the timeline; `changed_at`: when its state last changed;
    `labels`: what each output is called (every step's, since a step may pass
    on what an earlier one gave)."""
    labels = labels if labels is not None else spec.gives
    state = StepState(row.state)
    output = shown_output(row.output)
    deadline = _deadline(spec, state, born_at, now, near)
    instruction = _instruction(spec, row, state, deadline)
    benefit = benefit_view(spec, row, event) if spec.asks_parents else None
    if state == StepState.AWAITING_PARENTS:
        instruction = texts.PAGE["confirm_benefit"]
    return {
        "step": spec.name,
        "title": spec.texts.title,
        "state": state.value,
        "state_text": texts.STATE_WORDS[state],
        "updated_at": (changed_at or row.updated_at).isoformat(),
        "output": output,
        "documents": [
            {"name": key, "label": labels.get(key, text(key, key)), "value": v}
            for key, v in output.items()
            if v and not spec.asks_parents  # a benefit shows its outputs in its own way
        ],
        # The reason, only where it tells the parents what to do; a department's
        # technical error never (operators see it in the birth's view).
        "reason": _shown_reason(row, state),
        "needs_parents": instruction is not None,
        "instruction": instruction,
        **deadline,
        **({"benefit": benefit} if benefit is not None else {}),
    }


async def load_view(
    session: AsyncSession,
    birth: Birth,
    registry: Registry,
    now: datetime,
    near: timedelta = NEAR_DEADLINE,
) -> dict[str, Any]:
    """The view of `birth` as stored now; `near`: how close to a legal deadline an
    open step is flagged."""
    steps = (await session.scalars(select(StepRow).where(StepRow.birth_id == birth.id))).all()
    # When each step last changed state: its newest history line (a poll of the
    # department touches the step row but is no change for the parents).
    changed = await session.execute(
        select(HistoryRow.step, func.max(HistoryRow.at))
        .where(HistoryRow.birth_id == birth.id, HistoryRow.step.is_not(None))
        .group_by(HistoryRow.step)
    )
    return parent_view(birth, registry, steps, dict(changed.all()), now, near)


def parent_view(
    birth: Birth,
    registry: Registry,
    steps: Sequence[StepRow],
    changed_at: dict[str | None, datetime],
    now: datetime,
    near: timedelta = NEAR_DEADLINE,
) -> dict[str, Any]:
    """The whole view, steps in the registry's order (a step no longer declared
    is not shown); `version` changes with every change to the birth."""
    status = BirthStatus(birth.status)
    rows, labels = {row.step: row for row in steps}, registry.outputs()
    # Benefits explain themselves from the event (each programme's rule).
    event = (
        BirthEvent.model_validate(birth.event, context={"time_rules": False})
        if any(spec.asks_parents for spec in registry)
        else None
    )
    shown = [
        step_view(
            spec,
            rows[spec.name],
            birth.born_at,
            now,
            changed_at.get(spec.name),
            near,
            labels,
            event,
        )
        for spec in registry
        if spec.name in rows
    ]
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
