"""The saga core with plain objects: no database, no bus, a clock we move by hand."""

from datetime import UTC, datetime, timedelta

from contracts.birth import BirthEvent
from contracts.catalogue import builtin_registry
from contracts.problems import parse_birth_event
from contracts.registry import RuleContext
from contracts.replies import StepReply
from contracts.steps import BirthStatus, StepState
from gateway.saga.machine import Policy, Saga
from gateway.saga.plan import Plan
from tests.cases.birth_cases import valid_event

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
POLICY = Policy(
    dispatch_lease=timedelta(minutes=5),
    poll_after=timedelta(seconds=30),
    step_deadline=timedelta(hours=72),
    retry_ladder=tuple(timedelta(seconds=s) for s in (10, 60, 300, 1800, 7200, 21600)),
)


def event(**overrides: object) -> BirthEvent:
    return parse_birth_event(valid_event(now=NOW, **overrides), now=NOW)


def new_saga(jurisdiction: str | None = None, **overrides: object) -> Saga:
    saga = Saga.new(
        "b1", event(**overrides), Plan(builtin_registry(), RuleContext(jurisdiction)), POLICY
    )
    saga.advance(NOW)
    return saga


def reply(outcome: str, **fields: object) -> StepReply:
    return StepReply.model_validate({"outcome": outcome, "command_id": "c", **fields})


def states(saga: Saga) -> dict[str, StepState]:
    return {step: view.state for step, view in saga.steps.items()}


def test_a_new_birth_starts_the_steps_without_dependencies() -> None:
    saga = new_saga()
    assert states(saga) == {
        "birth_certificate": StepState.QUEUED,
        "vaccination_record": StepState.QUEUED,
        "household_registration": StepState.WAITING,
        "medical_insurance": StepState.WAITING,
        "social_security_card": StepState.WAITING,
    }
    assert [(d.step, d.action, d.attempt) for d in saga.dispatches] == [
        ("birth_certificate", "submit", 1),
        ("vaccination_record", "submit", 1),
    ]


def test_a_completed_certificate_starts_household_registration_with_its_number() -> None:
    saga = new_saga()
    saga.dispatches.clear()
    done = reply("completed", output={"certificate_number": "A123456789"})
    saga.on_reply("birth_certificate", done, 1, NOW)
    assert saga.steps["household_registration"].state == StepState.QUEUED
    record = saga.plan.record("household_registration", saga.event, saga.outputs())
    assert record.model_dump()["certificate_number"] == "A123456789"


def test_the_card_waits_for_insurance_by_default_but_not_when_configured() -> None:
    outputs = {"citizen_id": "33010620261128001X"}
    for waits, expected in ((True, StepState.WAITING), (False, StepState.QUEUED)):
        saga = Saga.new(
            "b", event(), Plan(builtin_registry(card_waits_for_insurance=waits)), POLICY
        )
        for step in ("birth_certificate", "household_registration"):
            saga.steps[step].state = StepState.COMPLETED
        saga.steps["household_registration"].output = dict(outputs)
        saga.advance(NOW)
        assert saga.steps["social_security_card"].state == expected


def test_a_transient_failure_waits_on_the_ladder_and_the_timer_dispatches_again() -> None:
    saga = new_saga()
    saga.on_reply("birth_certificate", reply("transient", reason="503"), 1, NOW)
    view = saga.steps["birth_certificate"]
    assert view.state == StepState.RETRYING
    assert view.next_attempt_at == NOW + timedelta(seconds=10)
    saga.dispatches.clear()
    saga.on_due(NOW + timedelta(seconds=9))
    assert saga.dispatches == []
    saga.on_due(NOW + timedelta(seconds=10))
    assert saga.steps["birth_certificate"].state == StepState.QUEUED
    assert [(d.step, d.attempt) for d in saga.dispatches] == [("birth_certificate", 2)]
    saga.on_reply("birth_certificate", reply("transient", reason="503"), 2, NOW)
    assert view.next_attempt_at == NOW + timedelta(seconds=60)


def test_retry_after_longer_than_the_rung_is_honoured() -> None:
    saga = new_saga()
    saga.on_reply("birth_certificate", reply("transient", retry_after_s=30), 1, NOW)
    assert saga.steps["birth_certificate"].next_attempt_at == NOW + timedelta(seconds=30)


def test_a_step_still_failing_at_its_deadline_fails_and_asks_for_an_operator() -> None:
    saga = new_saga()
    moment = NOW
    for attempt in range(1, 100):
        saga.on_reply("birth_certificate", reply("transient", reason="down"), attempt, moment)
        view = saga.steps["birth_certificate"]
        if view.state == StepState.FAILED:
            break
        assert view.next_attempt_at is not None
        moment = view.next_attempt_at
        saga.on_due(moment)
    assert view.state == StepState.FAILED
    assert moment - NOW <= POLICY.step_deadline
    assert saga.status == BirthStatus.ACTION_REQUIRED
    assert "retries exhausted" in (view.last_error or "")


def test_an_answer_to_a_superseded_attempt_is_ignored() -> None:
    saga = new_saga()
    saga.on_due(NOW + timedelta(minutes=6))  # the lease expired: attempt 2 went out
    assert saga.steps["birth_certificate"].attempt == 2
    saga.on_reply("birth_certificate", reply("transient"), 1, NOW + timedelta(minutes=6))
    assert saga.steps["birth_certificate"].state == StepState.QUEUED


def test_a_duplicate_completion_changes_nothing() -> None:
    saga = new_saga()
    done = reply("completed", output={"certificate_number": "A123456789"})
    saga.on_reply("birth_certificate", done, 1, NOW)
    saga.transitions.clear()
    saga.dispatches.clear()
    saga.on_reply("birth_certificate", done, 1, NOW)
    assert saga.transitions == []
    assert saga.dispatches == []


def test_an_accepted_request_is_polled_when_no_callback_comes() -> None:
    saga = new_saga()
    saga.on_reply(
        "birth_certificate", reply("completed", output={"certificate_number": "A1"}), 1, NOW
    )
    saga.on_reply("household_registration", reply("accepted", reference="MPS1"), 1, NOW)
    view = saga.steps["household_registration"]
    assert view.state == StepState.AWAITING_DEPARTMENT
    saga.dispatches.clear()
    saga.on_due(NOW + POLICY.poll_after)
    assert [(d.step, d.action, d.reference) for d in saga.dispatches] == [
        ("household_registration", "poll", "MPS1")
    ]
    saga.on_reply("household_registration", reply("pending"), 1, NOW + POLICY.poll_after)
    assert view.state == StepState.AWAITING_DEPARTMENT


def test_a_refusal_rejects_the_step_and_the_birth_needs_action() -> None:
    saga = new_saga()
    saga.on_reply("birth_certificate", reply("rejected", reason="bad name"), 1, NOW)
    assert saga.steps["birth_certificate"].state == StepState.REJECTED
    assert saga.steps["birth_certificate"].last_error == "bad name"
    assert saga.status == BirthStatus.ACTION_REQUIRED


def test_steps_not_asked_for_are_skipped_with_the_steps_that_need_them() -> None:
    saga = new_saga(services=["birth_certificate", "vaccination_record", "medical_insurance"])
    assert saga.steps["household_registration"].state == StepState.SKIPPED
    assert saga.steps["medical_insurance"].state == StepState.SKIPPED  # needs the citizen ID
    assert saga.steps["social_security_card"].state == StepState.SKIPPED


def test_a_hukou_outside_the_jurisdiction_is_offline_with_its_dependants() -> None:
    saga = new_saga(jurisdiction="11")  # Beijing; the sample's hukou is in Zhejiang
    assert saga.steps["household_registration"].state == StepState.OFFLINE
    assert "counter" in (saga.steps["household_registration"].last_error or "")
    assert saga.steps["medical_insurance"].state == StepState.OFFLINE
    assert saga.steps["birth_certificate"].state == StepState.QUEUED


def test_all_steps_done_completes_the_birth() -> None:
    saga = new_saga()
    outputs = {
        "birth_certificate": {"certificate_number": "A123456789"},
        "vaccination_record": {"record_number": "R1"},
        "household_registration": {"citizen_id": "33010620261128001X"},
        "medical_insurance": {"insurance_number": "I1"},
        "social_security_card": {"card_number": "C1"},
    }
    for step, output in outputs.items():
        assert saga.status == BirthStatus.IN_PROGRESS
        saga.on_reply(step, reply("completed", output=output), saga.steps[step].attempt, NOW)
    assert saga.status == BirthStatus.COMPLETED


def test_an_operator_retry_requeues_a_failed_step_with_a_fresh_deadline() -> None:
    saga = new_saga()
    view = saga.steps["birth_certificate"]
    saga.on_reply("birth_certificate", reply("rejected", reason="bad"), 1, NOW)
    later = NOW + timedelta(days=5)
    assert saga.retry("birth_certificate", later)
    assert view.state == StepState.QUEUED
    assert view.attempt == 2
    assert view.deadline_at == later + POLICY.step_deadline
    assert saga.status == BirthStatus.IN_PROGRESS
    assert "operator" in (saga.transitions[-2].detail or "")


def test_only_failed_or_rejected_steps_can_be_retried() -> None:
    saga = new_saga()
    assert not saga.retry("birth_certificate", NOW)  # queued
    assert not saga.retry("household_registration", NOW)  # waiting


def test_without_a_chinese_parent_the_hukou_and_what_needs_it_do_not_apply() -> None:
    data = valid_event(now=NOW)
    data.pop("father", None)
    data["household"]["register_with"] = "mother"
    data["mother"].update(
        id_type="passport", id_number="E12345678", nationality="RUS", ethnicity=None
    )
    saga = Saga.new("b1", parse_birth_event(data, now=NOW), Plan(builtin_registry()), POLICY)
    saga.advance(NOW)
    assert states(saga) == {
        "birth_certificate": StepState.QUEUED,
        "vaccination_record": StepState.QUEUED,
        "household_registration": StepState.NOT_APPLICABLE,
        "medical_insurance": StepState.NOT_APPLICABLE,
        "social_security_card": StepState.NOT_APPLICABLE,
    }
    reason = saga.steps["household_registration"].last_error
    assert reason == "neither parent is a Chinese citizen: a child's hukou needs one"
    for step in ("birth_certificate", "vaccination_record"):
        saga.on_reply(step, reply("completed", output={"n": "1"}), 1, NOW)
    assert saga.status == BirthStatus.COMPLETED


def test_an_adapters_answer_is_checked_like_any_input_and_a_contradiction_is_kept() -> None:
    saga = new_saga()
    saga.on_reply("birth_certificate", reply("completed", output={"n": "A1"}), 1, NOW)
    beijing_1949 = reply("completed", output={"citizen_id": "11010519491231002X"})
    reason = saga.on_reply("household_registration", beijing_1949, 1, NOW)
    assert reason == "citizen_id is of region 110105, not the hukou's 330106"
    household = saga.steps["household_registration"]
    assert household.state == StepState.QUEUED  # waits for a right answer
    assert household.output == {}
    assert saga.steps["medical_insurance"].state == StepState.WAITING
    assert [t.alert for t in saga.transitions][-1]

    right = reply("completed", output={"citizen_id": "33010620261128001X"})
    assert saga.on_reply("household_registration", right, 1, NOW) is None
    assert states(saga)["household_registration"] == StepState.COMPLETED
    other = reply("completed", output={"citizen_id": "330106202611280037"})
    saga.on_reply("household_registration", other, 1, NOW)
    assert household.output == {"citizen_id": "33010620261128001X"}  # the first answer stands
    assert household.last_error == (
        "the department answered again, contradicting it (completed: citizen_id)"
    )
