"""What parents are told: which change sends a text message, the words of the
parent's view (instructions, legal deadlines, masking), the sandbox SMS gateway."""

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from contracts.catalogue import builtin_registry
from contracts.problems import parse_birth_event
from contracts.registry import RuleContext
from contracts.replies import StepReply
from contracts.steps import StepState
from gateway.saga.machine import Policy, Saga
from gateway.saga.notices import Notice, decide, notice_message
from gateway.saga.plan import Plan
from gateway.store.tables import Birth, StepRow
from gateway.tracking.guard import WrongTries, normalise_code, verified
from gateway.tracking.view import parent_view
from gateway.workers.notifier import word
from sandbox import sms
from tests.cases.birth_cases import valid_event

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


REGISTRY = builtin_registry()


def new_saga(jurisdiction: str | None = None) -> Saga:
    event = parse_birth_event(valid_event(now=NOW), now=NOW)
    saga = Saga.new("b1", event, Plan(builtin_registry(), RuleContext(jurisdiction)), Policy())
    saga.advance(NOW)
    return saga


def settle(saga: Saga) -> None:
    """What `save()` does after a commit: the transitions are written."""
    saga.transitions.clear()
    saga.dispatches.clear()


def reply(outcome: str, **fields: object) -> StepReply:
    return StepReply.model_validate({"outcome": outcome, "command_id": "c", **fields})


def test_acceptance_sends_one_message_that_names_steps_to_do_in_person() -> None:
    assert decide(new_saga()) == Notice(kind="accepted", steps=[])
    offline = decide(new_saga(jurisdiction="11"))  # the sample's hukou is in Zhejiang
    assert offline is not None
    assert offline.kind == "accepted"  # one message, though a step went offline too
    assert "household_registration" in offline.steps


def test_progress_sends_nothing_a_rejection_sends_one_and_the_end_one() -> None:
    saga = new_saga()
    settle(saga)
    saga.on_reply("vaccination_record", reply("completed", output={"record_number": "R1"}), 1, NOW)
    assert decide(saga) is None
    settle(saga)
    saga.on_reply("birth_certificate", reply("rejected", reason="号段已用完"), 1, NOW)
    assert decide(saga) == Notice(kind="action_needed", steps=["birth_certificate"])
    message = notice_message(saga, 7, NOW)
    assert message is not None
    assert message.envelope.message_id == "sms-b1-8"  # the change's first history line
    assert (message.channel, message.routing_key) == ("notifications", "sms.action_needed")
    settle(saga)
    for step in builtin_registry().names:
        saga.steps[step].state = StepState.COMPLETED
    saga.advance(NOW)
    assert decide(saga) == Notice(kind="completed", steps=[])


def test_messages_carry_the_code_and_no_personal_data() -> None:
    code, url = "ABCD-EFGH-JKMN", "https://birth.example.cn/track"
    accepted = word(Notice(kind="accepted"), REGISTRY, code, url)
    assert code in accepted
    assert url in accepted
    needed = word(Notice(kind="action_needed", steps=["medical_insurance"]), REGISTRY, code, url)
    assert "医保参保需要您处理" in needed
    done = word(Notice(kind="completed", steps=["household_registration"]), REGISTRY, code, url)
    assert "户口登记请到窗口办理" in done
    for text in (accepted, needed, done):
        assert len(text) <= 500


def rows(states: dict[str, StepState], **fields: object) -> list[StepRow]:
    return [
        StepRow(
            birth_id="b1",
            step=step,
            state=state.value,
            output=dict(fields.get(step, {})),  # type: ignore[call-overload]
            last_error="户籍地不在本省 / hukou outside this province"
            if state == StepState.OFFLINE
            else "号段已用完"
            if state == StepState.REJECTED
            else None,
            updated_at=NOW,
        )
        for step, state in states.items()
    ]


def birth(status: str, born_at: datetime) -> Birth:
    return Birth(
        id="b1",
        tracking_code="ABCD-EFGH-JKMN",
        status=status,
        born_at=born_at,
        version=3,
        updated_at=NOW,
    )


def test_the_view_says_what_to_do_and_masks_the_citizen_id() -> None:
    steps = rows(
        {
            "birth_certificate": StepState.REJECTED,
            "vaccination_record": StepState.COMPLETED,
            "household_registration": StepState.OFFLINE,
            "medical_insurance": StepState.COMPLETED,
            "social_security_card": StepState.WAITING,
        },
        medical_insurance={"insurance_number": "330106000001"},
        vaccination_record={"record_number": "CDC1"},
    )
    steps[3].output["citizen_id"] = "330106202611280019"
    view = parent_view(birth("action_required", NOW - timedelta(hours=2)), REGISTRY, steps, {}, NOW)
    by_step = {s["step"]: s for s in view["steps"]}
    certificate = by_step["birth_certificate"]
    assert certificate["needs_parents"]
    assert "号段已用完" in certificate["instruction"]["zh"]
    assert "hospital" in certificate["instruction"]["en"]
    household = by_step["household_registration"]
    assert "派出所户籍窗口" in household["instruction"]["zh"]
    assert household["state_text"] == {"zh": "需到窗口办理", "en": "To be done in person"}
    insurance = by_step["medical_insurance"]
    assert insurance["output"]["citizen_id"] == "330106********0019"
    assert {
        "name": "citizen_id",
        "label": {"zh": "公民身份号码", "en": "Citizen ID number"},
        "value": "330106********0019",
    } in insurance["documents"]
    assert not by_step["vaccination_record"]["needs_parents"]
    assert view["summary"]["zh"] == "请按下方标出的说明办理。"
    assert view["status_text"]["zh"] == "有事项需要处理"
    assert not view["all_done"]


def test_an_open_step_near_its_legal_deadline_tells_the_parents_where_to_go() -> None:
    born = datetime(2026, 10, 31, 2, 0, tzinfo=UTC)  # 10:00 in China
    steps = rows(dict.fromkeys(builtin_registry().names, StepState.AWAITING_DEPARTMENT))
    view = parent_view(birth("in_progress", born), REGISTRY, steps, {}, NOW)
    household, insurance = view["steps"][2], view["steps"][3]
    assert household["near_deadline"]
    assert household["days_left"] == 2
    assert "2026-11-30" in household["instruction"]["zh"]
    assert "还剩 2 天" in household["instruction"]["zh"]
    assert household["needs_parents"]
    assert not insurance["near_deadline"]
    assert insurance["instruction"] is None
    assert "deadline" not in view["steps"][0]  # the certificate has no legal deadline
    late = parent_view(birth("in_progress", born), REGISTRY, steps, {}, NOW + timedelta(days=5))
    assert "已过" in late["steps"][2]["instruction"]["zh"]


def test_verification_and_code_forms() -> None:
    event = {"mother": {"id_number": "33010619900101002X"}, "contact": {"phone": "13800138000"}}
    assert verified(event, "01002x")
    assert verified(event, " 138000 ")
    assert not verified(event, "000000")
    assert not verified(event, "1002X")
    assert normalise_code("abcd efgh jkmn") == "ABCD-EFGH-JKMN"


async def test_the_eleventh_wrong_try_in_a_minute_must_wait() -> None:
    tries = WrongTries("10/minute", per_code="1000/minute", per_client_code="1000/minute")
    for i in range(10):
        assert await tries.retry_after("10.0.0.1", f"ABCD-EFGH-JK{i:02d}") is None
        await tries.count("10.0.0.1", f"ABCD-EFGH-JK{i:02d}")
    wait = await tries.retry_after("10.0.0.1", "ABCD-EFGH-JKMN")
    assert wait is not None
    assert 1 <= wait <= 60
    assert await tries.retry_after("10.0.0.2", "ABCD-EFGH-JKMN") is None  # per client


async def test_wrong_tries_on_one_code_are_capped_whoever_makes_them() -> None:
    tries = WrongTries("1000/minute", per_code="3/hour", per_client_code="2/minute")
    for client in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert await tries.retry_after(client, "abcd efgh jkmn") is None
        await tries.count(client, "ABCD-EFGH-JKMN")
    assert await tries.retry_after("10.0.0.4", "ABCD-EFGH-JKMN") is not None
    assert await tries.retry_after("10.0.0.4", "ABCD-EFGH-JKMP") is None  # another code
    await tries.remember("10.0.0.9", "ABCD-EFGH-JKMN")  # a parent who got in before
    assert await tries.retry_after("10.0.0.9", "ABCD-EFGH-JKMN") is None


async def test_the_sandbox_sms_gateway_sends_once_per_key() -> None:
    gateway = sms.SmsGateway(lambda: NOW)
    app = FastAPI()
    app.include_router(sms.create_router(gateway), prefix="/sms")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as client:
        body = {"to": "13800138000", "text": "你好"}
        first = await client.post("/sms/messages", json=body, headers={"Idempotency-Key": "k1"})
        again = await client.post("/sms/messages", json=body, headers={"Idempotency-Key": "k1"})
        assert first.status_code == again.status_code == 202
        assert first.json() == again.json()
        other = {"to": "13800138000", "text": "别的"}
        reused = await client.post("/sms/messages", json=other, headers={"Idempotency-Key": "k1"})
        assert reused.status_code == 422
        bad = await client.post(
            "/sms/messages", json={"to": "12345", "text": "x"}, headers={"Idempotency-Key": "k2"}
        )
        assert bad.status_code == 400
        no_key = await client.post("/sms/messages", json=body)
        assert no_key.status_code == 400
        await client.post("/sms/_sandbox/faults", json={"fail_next": 1})
        down = await client.post("/sms/messages", json=body, headers={"Idempotency-Key": "k3"})
        assert down.status_code == 503
        listing = (await client.get("/sms/_sandbox/messages")).json()
    assert [(m["key"], m["requests"]) for m in listing["messages"]] == [("k1", 2)]
    assert listing["requests_total"] == 6
