"""A benefit step in the saga core: it waits for the parents, who confirm or
decline it; corrections re-decide it; cancellation stops it."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from birthlink.samples import baiyin_birth_event
from contracts.birth import BirthEvent
from contracts.commands import SubmitStep
from contracts.profile import load_profile
from contracts.registry import RuleContext
from contracts.replies import StepReply
from contracts.steps import BirthStatus, StepState
from gateway.saga.machine import Policy, Saga
from gateway.saga.plan import Plan

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
BAIYIN = load_profile("baiyin")
PLAN = Plan(BAIYIN.registry(), RuleContext(BAIYIN.jurisdiction))
CITIZEN_ID = "620421202611270011"


def event(number: int, *, insured: bool = True) -> BirthEvent:
    data = baiyin_birth_event(
        random.Random(3), now=NOW, family_child_number=number, insured=insured
    )
    data["household"]["hukou_region"] = "620421"
    data["child"]["sex"] = "1"
    data["child"]["born_at"] = "2026-11-27T10:00:00+08:00"
    for dose in data["vaccinations"]:
        dose["given_at"] = "2026-11-27T10:30:00+08:00"
    data["consent"] = {
        "mother_agreed_at": "2026-11-27T10:10:00+08:00",
        "father_agreed_at": "2026-11-27T10:12:00+08:00",
    }
    return BirthEvent.model_validate(data, context={"now": NOW})


def reply(outcome: str, **fields: object) -> StepReply:
    return StepReply.model_validate({"outcome": outcome, "command_id": "c", **fields})


def registered(number: int, **kw: bool) -> Saga:
    """A Baiyin birth whose five registrations are done."""
    saga = Saga.new("b1", event(number, **kw), PLAN, Policy(), now=NOW)
    saga.advance(NOW)
    outputs = {
        "birth_certificate": {"certificate_number": "A123456789"},
        "vaccination_record": {"record_number": "V1"},
        "household_registration": {"citizen_id": _valid(CITIZEN_ID)},
        "medical_insurance": {"insurance_number": "I1"},
        "social_security_card": {"application_number": "S1", "card_number": "C1"},
    }
    for step, output in outputs.items():
        saga.on_reply(step, reply("completed", output=output, reference=step), 1, NOW)
    return saga


def submitted(saga: Saga, index: int) -> dict[str, Any]:
    command = saga.command(saga.dispatches[index])
    assert isinstance(command, SubmitStep)
    return command.record


def state(saga: Saga, step: str) -> StepState:
    return saga.steps[step].state


def _valid(body: str) -> str:
    from stdnum.cn import ric

    return body[:17] + ric.calc_check_digit(body[:17] + "0")


def test_a_second_child_waits_for_the_parents_with_both_programmes() -> None:
    saga = registered(2)
    assert state(saga, "childcare_subsidy") == StepState.AWAITING_PARENTS
    assert saga.status == BirthStatus.IN_PROGRESS
    asked = " ".join(t.detail or "" for t in saga.transitions if t.to_state == "awaiting_parents")
    assert "national: eligible" in asked
    assert "baiyin: eligible" in asked
    saga.dispatches.clear()
    assert saga.parents_decide("childcare_subsidy", "confirm", NOW)
    assert state(saga, "childcare_subsidy") == StepState.QUEUED
    record = submitted(saga, 0)
    assert [p["code"] for p in record["programmes"]] == ["national", "baiyin"]
    assert record["programmes"][0]["last_month"] == "2029-10"  # the month before 3
    assert record["card"] == "C1"


def test_a_first_child_gets_only_the_national_programme() -> None:
    saga = registered(1)
    saga.parents_decide("childcare_subsidy", "confirm", NOW)
    record = submitted(saga, -1)
    assert [p["code"] for p in record["programmes"]] == ["national"]


def test_declining_skips_and_a_second_answer_is_refused() -> None:
    saga = registered(2)
    assert saga.parents_decide("maternity_allowance", "decline", NOW)
    assert saga.steps["maternity_allowance"].state == StepState.SKIPPED
    assert not saga.parents_decide("maternity_allowance", "confirm", NOW)
    assert not saga.parents_decide("birth_certificate", "confirm", NOW)


def test_a_mother_not_insured_as_an_employee_sees_the_allowance_not_applicable() -> None:
    saga = registered(2, insured=False)
    view = saga.steps["maternity_allowance"]
    assert view.state == StepState.NOT_APPLICABLE
    assert "mother.employment.insured" in (view.last_error or "")


def test_a_correction_of_the_child_number_asks_the_parents_again() -> None:
    saga = registered(1)
    corrected = event(2)
    saga.transitions.clear()
    saga.correct(corrected, 2, NOW)
    assert saga.steps["childcare_subsidy"].state == StepState.AWAITING_PARENTS
    again = [t.detail or "" for t in saga.transitions if t.step == "childcare_subsidy"]
    assert len(again) == 1
    assert "baiyin: eligible" in again[0]
    assert "asking the parents again" in again[0]


def test_a_correction_re_decides_a_benefit_that_did_not_apply() -> None:
    saga = registered(2, insured=False)
    saga.correct(event(2, insured=True), 2, NOW)
    assert state(saga, "maternity_allowance") == StepState.AWAITING_PARENTS
    saga.correct(event(2, insured=False), 3, NOW)
    assert state(saga, "maternity_allowance") == StepState.NOT_APPLICABLE
    decisions = [t.to_state for t in saga.transitions if t.step == "maternity_allowance"]
    assert decisions[-3:] == ["waiting", "awaiting_parents", "not_applicable"]


def test_cancellation_stops_a_paid_subsidy_and_cancels_one_still_asked() -> None:
    saga = registered(2)
    saga.parents_decide("childcare_subsidy", "confirm", NOW)
    output = {"programmes": "[]", "paid_to": "card C1"}
    saga.on_reply("childcare_subsidy", reply("completed", output=output, reference="G1"), 2, NOW)
    saga.dispatches.clear()
    saga.cancel("reported in error", NOW + timedelta(minutes=1))
    assert saga.steps["maternity_allowance"].state == StepState.CANCELLED
    assert ("childcare_subsidy", "revoke") in [(d.step, d.action) for d in saga.dispatches]
