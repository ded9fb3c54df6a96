"""Legal deadlines (SPEC §4): household registration within one month of the birth,
medical insurance within 90 days (coverage counts from birth).

A deadline is the end of its last day in China Standard Time: a child born on
27 November (CST) must be registered by the end of 27 December. Births are
queried by `births.born_at`: a deadline only moves later when the birth does,
so "past" and "near" are each a range of birth times (`born_before`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from contracts.steps import FINAL_STEP_STATES, Step, StepState

CST = timezone(timedelta(hours=8), "CST")
# An open step this close to its legal deadline is flagged (settings.deadline_near).
NEAR_DEADLINE = timedelta(days=7)
Urgency = Literal["past", "near", "ok"]


def _one_month_later(day: date) -> date:
    """The same day next month, or that month's last day (31 Jan → 28/29 Feb)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def _ninety_days_later(day: date) -> date:
    return day + timedelta(days=90)


@dataclass(frozen=True)
class LegalDeadline:
    """A step that the law wants done within a time of the birth."""

    step: Step
    last_day: Callable[[date], date]  # from the birth date (CST); never moves earlier
    rule: str

    def due(self, born_at: datetime) -> datetime:
        """The instant the deadline passes: the end of its last day, CST."""
        return _start_of(self.last_day(born_at.astimezone(CST).date()) + timedelta(days=1))

    def born_before(self, instant: datetime) -> datetime:
        """The births whose deadline has passed at `instant` are those born before
        the returned time."""
        today = instant.astimezone(CST).date()
        # The last birth date whose last day is before today: search the year back.
        low, high = today - timedelta(days=400), today
        while low < high:  # last_day is non-decreasing: bisect for the first date not due
            middle = low + (high - low) // 2
            if self.last_day(middle) < today:
                low = middle + timedelta(days=1)
            else:
                high = middle
        return _start_of(low)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), CST)


LEGAL_DEADLINES: dict[Step, LegalDeadline] = {
    Step.HOUSEHOLD_REGISTRATION: LegalDeadline(
        Step.HOUSEHOLD_REGISTRATION, _one_month_later, "one month after the birth"
    ),
    Step.MEDICAL_INSURANCE: LegalDeadline(
        Step.MEDICAL_INSURANCE, _ninety_days_later, "90 days after the birth"
    ),
}

# A step in one of these owes the law nothing more here: done, not asked for, or
# handed to a counter (offline), or ended by a cancellation.
SETTLED = frozenset(FINAL_STEP_STATES)


def urgency(due: datetime, now: datetime, near: timedelta) -> Urgency:
    """`past` once the deadline went by, `near` within `near` of it, else `ok`."""
    if now >= due:
        return "past"
    return "near" if now >= due - near else "ok"


def flags(
    born_at: datetime, states: dict[Step, StepState], now: datetime, near: timedelta
) -> list[dict[str, str]]:
    """The legal deadlines of a birth's open steps that are near or past, for
    operators and the parents' page: step, due time, urgency, the rule."""
    shown = []
    for step, deadline in LEGAL_DEADLINES.items():
        state = states.get(step)
        if state is None or state in SETTLED:
            continue
        due = deadline.due(born_at)
        level = urgency(due, now, near)
        if level != "ok":
            shown.append(
                {
                    "step": step.value,
                    "due": due.isoformat(),
                    "urgency": level,
                    "rule": deadline.rule,
                }
            )
    return shown
