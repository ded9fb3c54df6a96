"""Legal deadlines (SPEC §4), as the registry declares them: household
registration within one month of the birth, medical insurance within 90 days.

A deadline is the end of its last day in China Standard Time: a child born on
27 November (CST) must be registered by the end of 27 December. Births are
queried by `births.born_at`: a deadline only moves later when the birth does,
so "past" and "near" are each a range of birth times (`LegalDeadline.born_before`).
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

from contracts.registry import LegalDeadline, Registry, StepName
from contracts.steps import FINAL_STEP_STATES, StepState

# An open step this close to its legal deadline is flagged (settings.deadline_near).
NEAR_DEADLINE = timedelta(days=7)
Urgency = Literal["past", "near", "ok"]

# A step in one of these owes the law nothing more here: done, not asked for, or
# handed to a counter (offline), or ended by a cancellation.
SETTLED = frozenset(FINAL_STEP_STATES)


def legal_deadlines(registry: Registry) -> dict[StepName, LegalDeadline]:
    """The steps that the law wants done in time, with their deadlines."""
    return {spec.name: spec.deadline for spec in registry if spec.deadline is not None}


def urgency(due: datetime, now: datetime, near: timedelta) -> Urgency:
    """`past` once the deadline went by, `near` within `near` of it, else `ok`."""
    if now >= due:
        return "past"
    return "near" if now >= due - near else "ok"


def flags(
    registry: Registry,
    born_at: datetime,
    states: Mapping[StepName, StepState],
    now: datetime,
    near: timedelta,
) -> list[dict[str, str]]:
    """The legal deadlines of a birth's open steps that are near or past, for
    operators and the parents' page: step, due time, urgency, the rule."""
    shown = []
    for step, deadline in legal_deadlines(registry).items():
        state = states.get(step)
        if state is None or state in SETTLED:
            continue
        due = deadline.due(born_at)
        level = urgency(due, now, near)
        if level != "ok":
            shown.append(
                {"step": step, "due": due.isoformat(), "urgency": level, "rule": deadline.rule}
            )
    return shown
