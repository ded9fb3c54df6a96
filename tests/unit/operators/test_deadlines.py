"""Legal deadlines: the end of the last day in China Standard Time, and the range
of birth times whose deadline has passed."""

from datetime import UTC, datetime, timedelta

import pytest

from contracts.catalogue import builtin_registry
from contracts.registry import CST, LegalDeadline
from contracts.steps import StepState
from gateway.deadlines import flags, legal_deadlines

REGISTRY = builtin_registry()
HOUSEHOLD = legal_deadlines(REGISTRY)["household_registration"]
INSURANCE = legal_deadlines(REGISTRY)["medical_insurance"]


@pytest.mark.parametrize(
    ("born", "last_day"),
    [
        ("2026-11-27T08:30:00+08:00", "2026-12-27"),
        ("2026-01-31T23:59:00+08:00", "2026-02-28"),  # no 31 February: the month's end
        ("2028-01-30T10:00:00+08:00", "2028-02-29"),  # leap year
        ("2026-12-15T10:00:00+08:00", "2027-01-15"),
        ("2026-11-26T17:00:00+00:00", "2026-12-27"),  # 01:00 on the 27th in China
    ],
)
def test_household_registration_is_due_one_month_after_the_birth_date_in_china(
    born: str, last_day: str
) -> None:
    due = HOUSEHOLD.due(datetime.fromisoformat(born))
    assert due == datetime.fromisoformat(last_day).replace(tzinfo=CST) + timedelta(days=1)


def test_insurance_is_due_ninety_days_after_the_birth() -> None:
    due = INSURANCE.due(datetime.fromisoformat("2026-11-27T08:30:00+08:00"))
    assert due.astimezone(CST).date().isoformat() == "2027-02-26"  # the end of 25 Feb


@pytest.mark.parametrize("deadline", [HOUSEHOLD, INSURANCE])
@pytest.mark.parametrize("day", range(0, 400, 7))
def test_born_before_splits_births_exactly_where_the_deadline_passes(
    deadline: LegalDeadline, day: int
) -> None:
    now = datetime(2026, 3, 1, 4, 0, tzinfo=UTC) + timedelta(days=day, hours=day % 24)
    cut = deadline.born_before(now)
    assert deadline.due(cut - timedelta(seconds=1)) <= now
    assert deadline.due(cut) > now


def test_only_open_steps_near_or_past_their_deadline_are_flagged() -> None:
    born = datetime(2026, 11, 1, 9, 0, tzinfo=CST)
    now = datetime(2026, 11, 28, 9, 0, tzinfo=CST)  # household due at the end of 1 Dec
    states = {
        "household_registration": StepState.RETRYING,
        "medical_insurance": StepState.WAITING,
    }
    [flag] = flags(REGISTRY, born, states, now, timedelta(days=7))
    assert (flag["step"], flag["urgency"]) == ("household_registration", "near")
    later = now + timedelta(days=4)
    assert flags(REGISTRY, born, states, later, timedelta(days=7))[0]["urgency"] == "past"
    done = {**states, "household_registration": StepState.COMPLETED}
    assert flags(REGISTRY, born, done, later, timedelta(days=7)) == []
    offline = {**states, "household_registration": StepState.OFFLINE}
    assert flags(REGISTRY, born, offline, later, timedelta(days=7)) == []
