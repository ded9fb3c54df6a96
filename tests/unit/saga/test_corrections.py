"""Corrections and cancellation in the saga core, with plain objects and a hand clock."""

from datetime import UTC, datetime, timedelta

import pytest

from contracts.birth import BirthEvent
from contracts.catalogue import builtin_registry
from contracts.commands import AmendStep, RevokeStep
from contracts.problems import parse_birth_event
from contracts.replies import StepReply
from contracts.steps import BirthStatus, StepState
from gateway.saga.machine import CorrectionRefusedError, Policy, Saga, StepView
from gateway.saga.plan import Plan
from tests.cases.birth_cases import valid_event

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
POLICY = Policy(retry_ladder=(timedelta(seconds=10),), step_deadline=timedelta(hours=1))
OUTPUTS = {
    "birth_certificate": ({"certificate_number": "A123456789"}, "A123456789"),
    "vaccination_record": ({"record_number": "CDC1"}, "CDC1"),
    "household_registration": ({"citizen_id": "33010620261128001X"}, "MPS1"),
    "medical_insurance": ({"insurance_number": "N1"}, "N1"),
    "social_security_card": ({"card_number": "K1"}, "HRSS1"),
}


def event(**overrides: object) -> BirthEvent:
    return parse_birth_event(valid_event(now=NOW, **overrides), now=NOW)


def renamed(saga: Saga, name: str = "李更正") -> BirthEvent:
    data = saga.event.model_dump(mode="json")
    data["child"]["name"] = name
    return BirthEvent.model_validate(data, context={"time_rules": False})


def reply(outcome: str, operation: str = "submit", **fields: object) -> StepReply:
    return StepReply.model_validate(
        {"outcome": outcome, "command_id": "c", "operation": operation, **fields}
    )


def status_of(saga: Saga) -> BirthStatus:
    """The birth's status, read afresh (it changes under the saga's methods)."""
    return saga.status


def state_of(view: StepView) -> StepState:
    return view.state


def complete(saga: Saga, *steps: str) -> None:
    for step in steps:
        output, reference = OUTPUTS[step]
        view = saga.steps[step]
        saga.on_reply(
            step, reply("completed", output=output, reference=reference), view.attempt, NOW
        )


def completed_saga() -> Saga:
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)
    complete(saga, *builtin_registry().names)
    assert saga.status == BirthStatus.COMPLETED
    saga.dispatches.clear()
    saga.transitions.clear()
    return saga


def test_a_name_correction_amends_each_completed_step_with_its_own_key() -> None:
    saga = completed_saga()
    saga.correct(renamed(saga), 2, NOW)
    assert sorted(d.step for d in saga.dispatches) == sorted(builtin_registry().names)
    assert {d.action for d in saga.dispatches} == {"amend"}
    assert saga.status == BirthStatus.IN_PROGRESS
    amend = saga.command(saga.dispatches[0])
    assert isinstance(amend, AmendStep)
    assert amend.idempotency_key == "b1:birth_certificate:amend:2"
    assert amend.reference == "A123456789"
    assert amend.previous["child"]["name"] != amend.record["child"]["name"] == "李更正"
    for step in builtin_registry().names:
        saga.on_reply(step, reply("completed", "amend"), saga.steps[step].attempt, NOW)
    assert status_of(saga) == BirthStatus.COMPLETED
    assert all(v.data_version == 2 and v.operation is None for v in saga.steps.values())


def test_a_correction_that_changes_no_department_data_sends_nothing() -> None:
    saga = completed_saga()
    data = saga.event.model_dump(mode="json")
    data["consent"]["mother_agreed_at"] = (NOW - timedelta(minutes=1)).isoformat()
    saga.correct(BirthEvent.model_validate(data, context={"time_rules": False}), 2, NOW)
    assert saga.dispatches == []
    assert saga.status == BirthStatus.COMPLETED
    assert all(v.data_version == 2 for v in saga.steps.values())


def test_steps_not_yet_sent_use_the_new_data_and_a_step_in_flight_is_amended_after() -> None:
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)  # certificate and vaccination in flight, household waiting
    saga.dispatches.clear()
    saga.correct(renamed(saga), 2, NOW)
    assert saga.dispatches == []  # nothing to amend yet: the answers have not come
    complete(saga, "birth_certificate")
    household = saga.steps["household_registration"]
    assert household.state == StepState.QUEUED
    assert household.data_version == 2  # sent with the corrected data
    assert {(d.step, d.action) for d in saga.dispatches} == {
        ("birth_certificate", "amend"),  # it landed with the old name
        ("household_registration", "submit"),
    }


def test_a_rejected_step_is_sent_again_with_the_corrected_data_under_the_same_key() -> None:
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)
    saga.on_reply("birth_certificate", reply("rejected", reason="wrong name"), 1, NOW)
    assert saga.status == BirthStatus.ACTION_REQUIRED
    saga.dispatches.clear()
    saga.correct(renamed(saga), 2, NOW)
    certificate = saga.steps["birth_certificate"]
    assert certificate.state == StepState.QUEUED
    assert certificate.data_version == 2
    assert [(d.step, d.action) for d in saga.dispatches] == [("birth_certificate", "submit")]
    assert status_of(saga) == BirthStatus.IN_PROGRESS


def test_who_the_child_is_registered_with_cannot_change_once_household_was_sent() -> None:
    saga = completed_saga()
    data = saga.event.model_dump(mode="json")
    relation = data["household"]["register_with"]
    data["household"]["register_with"] = "mother" if relation == "father" else "father"
    changed = BirthEvent.model_validate(data, context={"time_rules": False})
    with pytest.raises(CorrectionRefusedError, match="household registration"):
        saga.correct(changed, 2, NOW)
    assert saga.event_version == 1
    assert saga.dispatches == []


def test_cancelling_revokes_completed_steps_one_layer_at_a_time_in_reverse_order() -> None:
    saga = completed_saga()
    assert saga.cancel("wrong mother", NOW)
    order: list[list[str]] = []
    while saga.dispatches:
        # Departments hold records until the last revocation is answered.
        assert saga.status == BirthStatus.CANCELLING
        batch = [d.step for d in saga.dispatches]
        assert {d.action for d in saga.dispatches} == {"revoke"}
        order.append(batch)
        saga.dispatches.clear()
        for step in batch:
            saga.on_reply(step, reply("completed", "revoke"), saga.steps[step].attempt, NOW)
    assert order == [
        ["social_security_card", "vaccination_record"],
        ["medical_insurance"],
        ["household_registration"],
        ["birth_certificate"],
    ]
    assert all(v.state == StepState.COMPENSATED for v in saga.steps.values())
    assert saga.status == BirthStatus.CANCELLED
    assert [t.to_state for t in saga.transitions if t.step is None][-2:] == [
        "cancelling",
        "cancelled",
    ]
    assert not saga.cancel("again", NOW)
    with pytest.raises(CorrectionRefusedError, match="cancelled"):
        saga.correct(renamed(saga), 2, NOW)


def test_a_birth_with_nothing_sent_is_cancelled_at_once() -> None:
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    assert saga.cancel("wrong mother", NOW)
    assert saga.status == BirthStatus.CANCELLED
    assert saga.dispatches == []


def test_a_submission_in_flight_keeps_the_birth_cancelling_until_its_answer_is_undone() -> None:
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)  # certificate and vaccination in flight
    saga.cancel("wrong mother", NOW)
    assert status_of(saga) == BirthStatus.CANCELLING
    complete(saga, "vaccination_record")
    saga.on_reply("vaccination_record", reply("completed", "revoke"), 2, NOW)
    assert status_of(saga) == BirthStatus.CANCELLING  # the certificate is still in flight
    complete(saga, "birth_certificate")
    assert status_of(saga) == BirthStatus.CANCELLING
    saga.on_reply("birth_certificate", reply("completed", "revoke"), 2, NOW)
    assert status_of(saga) == BirthStatus.CANCELLED


def test_cancelling_during_review_withdraws_it_and_cancels_steps_not_started() -> None:
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)
    complete(saga, "birth_certificate")
    saga.on_reply("household_registration", reply("accepted", reference="MPS1"), 1, NOW)
    saga.dispatches.clear()
    saga.cancel("wrong mother", NOW)
    assert saga.steps["medical_insurance"].state == StepState.CANCELLED
    assert saga.steps["social_security_card"].state == StepState.CANCELLED
    [withdraw] = [d for d in saga.dispatches if d.step == "household_registration"]
    revoke = saga.command(withdraw)
    assert isinstance(revoke, RevokeStep)
    assert (revoke.reference, revoke.reason) == ("MPS1", "wrong mother")
    assert revoke.idempotency_key == "b1:household_registration:revoke"
    # The review's approval arriving now answers the submission, not the withdrawal.
    approved = reply("completed", output={"citizen_id": "33010620261128001X"}, reference="MPS1")
    saga.on_reply("household_registration", approved, 2, NOW)
    assert saga.steps["household_registration"].state.value == "queued"
    assert saga.steps["birth_certificate"].operation is None  # waits for the withdrawal
    saga.on_reply("household_registration", reply("completed", "revoke"), 2, NOW)
    assert saga.steps["household_registration"].state == StepState.CANCELLED
    assert saga.steps["birth_certificate"].operation == "revoke"


def test_a_failing_revoke_retries_on_the_ladder_fails_and_an_operator_retry_resends_it() -> None:
    saga = completed_saga()
    saga.cancel("wrong mother", NOW)
    vaccination = saga.steps["vaccination_record"]
    later = NOW
    while vaccination.state != StepState.FAILED:
        saga.on_reply(
            "vaccination_record",
            reply("transient", "revoke", reason="503"),
            vaccination.attempt,
            later,
        )
        if vaccination.state == StepState.RETRYING:
            assert vaccination.next_attempt_at is not None
            later = vaccination.next_attempt_at
            saga.dispatches.clear()
            saga.on_due(later)
            again = [d for d in saga.dispatches if d.step == "vaccination_record"]
            assert [d.action for d in again] == ["revoke"]
    assert "retries exhausted" in (vaccination.last_error or "")
    assert saga.status == BirthStatus.CANCELLING  # the CDC still holds the record
    saga.dispatches.clear()
    assert saga.retry("vaccination_record", later)
    assert ("vaccination_record", "revoke") in {(d.step, d.action) for d in saga.dispatches}
    saga.on_reply("vaccination_record", reply("completed", "revoke"), vaccination.attempt, later)
    assert state_of(vaccination) == StepState.COMPENSATED


def test_a_cancelled_birth_sends_no_new_submission_on_retry() -> None:
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)
    saga.on_reply("birth_certificate", reply("rejected", reason="no"), 1, NOW)
    saga.cancel("wrong mother", NOW)
    assert saga.steps["birth_certificate"].state == StepState.CANCELLED
    assert not saga.retry("birth_certificate", NOW)


def test_a_second_correction_during_an_amendment_is_sent_after_it_lands() -> None:
    saga = completed_saga()
    saga.correct(renamed(saga, "李更正"), 2, NOW)
    saga.dispatches.clear()
    saga.correct(renamed(saga, "李再正"), 3, NOW)
    assert saga.dispatches == []  # the amendment to version 2 is still under way
    certificate = saga.steps["birth_certificate"]
    saga.on_reply("birth_certificate", reply("completed", "amend"), certificate.attempt, NOW)
    assert (certificate.data_version, certificate.operation, certificate.op_version) == (
        2,
        "amend",
        3,
    )
    amend = saga.command(saga.dispatches[-1])
    assert isinstance(amend, AmendStep)
    assert amend.idempotency_key == "b1:birth_certificate:amend:3"
    assert (amend.previous["child"]["name"], amend.record["child"]["name"]) == ("李更正", "李再正")


def test_a_household_application_rejected_at_review_is_amended_and_reviewed_again() -> None:
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)
    complete(saga, "birth_certificate")
    household = saga.steps["household_registration"]
    saga.on_reply("household_registration", reply("accepted", reference="MPS1"), 1, NOW)
    saga.on_reply("household_registration", reply("rejected", reason="wrong name"), 1, NOW)
    assert state_of(household) == StepState.REJECTED
    saga.dispatches.clear()
    saga.correct(renamed(saga), 2, NOW)
    sent = [(d.action, d.reference) for d in saga.dispatches if d.step == household.step]
    assert sent == [("amend", "MPS1")]  # not submitted again: its key is consumed
    saga.on_reply(
        "household_registration",
        reply("accepted", "amend", reference="MPS1"),
        household.attempt,
        NOW,
    )
    assert state_of(household) == StepState.AWAITING_DEPARTMENT
    assert household.data_version == 2
    approved = reply("completed", output={"citizen_id": "33010620261128001X"}, reference="MPS1")
    saga.on_reply("household_registration", approved, household.attempt, NOW)
    assert state_of(household) == StepState.COMPLETED
    assert saga.steps["medical_insurance"].state == StepState.QUEUED


def test_a_submission_unanswered_after_a_cancellation_is_sent_again_and_its_answer_decides() -> (
    None
):
    """The department may hold what an unanswered submission asked for: the birth
    stays cancelling, the submission goes again under the same key, and a record
    it turns out to hold is revoked before the birth is cancelled."""
    saga = Saga.new("b1", event(), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)  # the certificate and the vaccination record are sent
    saga.cancel("wrong mother", NOW)  # in flight: their answers decide
    saga.dispatches.clear()
    saga.on_due(NOW + timedelta(minutes=6))  # no answer within the lease
    assert [(d.step, d.action, d.attempt) for d in saga.dispatches] == [
        ("birth_certificate", "submit", 2),
        ("vaccination_record", "submit", 2),
    ]
    assert status_of(saga) == BirthStatus.CANCELLING
    saga.dispatches.clear()

    certificate = saga.steps["birth_certificate"]
    vaccination = saga.steps["vaccination_record"]
    saga.on_reply("birth_certificate", reply("rejected", reason="no"), 2, NOW)
    assert state_of(certificate) == StepState.CANCELLED  # nothing was made: nothing to undo
    complete(saga, "vaccination_record")  # the registry had it
    assert status_of(saga) == BirthStatus.CANCELLING
    [revoke] = saga.dispatches
    assert (revoke.step, revoke.action) == ("vaccination_record", "revoke")
    command = saga.command(revoke)
    assert isinstance(command, RevokeStep)
    assert command.reference == "CDC1"
    saga.on_reply("vaccination_record", reply("completed", "revoke"), vaccination.attempt, NOW)
    assert state_of(vaccination) == StepState.COMPENSATED
    assert status_of(saga) == BirthStatus.CANCELLED
