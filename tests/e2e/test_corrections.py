"""Corrections end to end, on both transports and stores: amendments reach each
department once, steps not yet sent carry the new data, refusals change nothing."""

import random
from typing import Any

import pytest

from birthlink.samples import birth_event
from tests.support.servers import wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

DEPARTMENTS = ("nhc", "cdc", "mps", "nhsa", "hrss")
NEW_NAME = "李更正"


def step_of(birth: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in birth["steps"] if s["step"] == name)


def child_name_at(department: str, data: dict[str, Any]) -> str:
    """Where each department keeps the child's name, in its own format."""
    match department:
        case "nhc":
            return str(data["xsexm"])
        case "cdc":
            return str(data["Child"]["Name"])
        case "mps":
            return str(data["xm"])
        case "nhsa":
            return str(data["psn_name"])
    return str(data["aac003"])


async def correct(stack: Stack, birth_id: str, patch: Any) -> Any:
    return await stack.hospital.post(
        f"/v1/births/{birth_id}/corrections",
        json=patch,
        headers={"Content-Type": "application/merge-patch+json"},
    )


async def wait_settled_at(stack: Stack, birth_id: str, version: int) -> dict[str, Any]:
    """The birth once every step holds `version` and no operation is under way."""

    async def settled() -> dict[str, Any] | None:
        birth = await stack.birth(birth_id)
        done = birth["status"] == "completed" and all(
            s["data_version"] == version and s["operation"] is None for s in birth["steps"]
        )
        return birth if done else None

    return await wait_for(settled, within=60, what=f"{birth_id} settled at v{version}")


async def test_a_name_corrected_after_completion_is_amended_once_at_each_department(
    stack: Stack,
) -> None:
    event = birth_event(random.Random(41))
    birth_id = (await stack.post(event)).json()["birth_id"]
    await stack.wait_until_final(birth_id)

    answer = await correct(stack, birth_id, {"child": {"name": NEW_NAME}})
    assert answer.status_code == 202, answer.text
    assert answer.json()["event_version"] == 2
    birth = await wait_settled_at(stack, birth_id, 2)

    for department in DEPARTMENTS:
        [record] = await stack.records(department)
        step = record["key"].split(":")[1]
        amendments = record["changes"]
        assert [c["key"] for c in amendments] == [f"{birth_id}:{step}:amend:2"], department
        assert amendments[0]["requests"] == 1, department
        assert child_name_at(department, record["data"]) == NEW_NAME, department
        assert record["requests"] == 1, department  # the submission was not sent again
    assert [v["event_version"] for v in birth["versions"]] == [1, 2]
    assert birth["versions"][1]["actor"] == "hospital:demo"
    history = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()["events"]
    amended = [e for e in history if (e["detail"] or "").startswith("amended to version 2")]
    assert len(amended) == 5
    assert all(e["actor"].startswith("department:") for e in amended)
    corrected = next(e for e in history if e["detail"] == "corrected: version 2")
    assert corrected["actor"] == "hospital:demo"

    # Who the child is registered with cannot change once the registration is done.
    other = "father" if event["household"]["register_with"] == "mother" else "mother"
    refused = await correct(stack, birth_id, {"household": {"register_with": other}})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "household registration" in refused.json()["detail"]
    assert (await stack.birth(birth_id))["event_version"] == 2


async def test_a_correction_before_household_registration_is_sent_carries_the_new_data(
    stack: Stack,
) -> None:
    event = birth_event(random.Random(42))
    name = event["child"]["name"]
    await stack.faults(
        "nhc", reject=[{"field": "xsexm", "equals": name, "reason": "姓名有误 / wrong name"}]
    )
    birth_id = (await stack.post(event)).json()["birth_id"]

    async def certificate_rejected() -> bool:
        birth = await stack.birth(birth_id)
        return bool(step_of(birth, "birth_certificate")["state"] == "rejected")

    await wait_for(certificate_rejected, what="certificate rejected")
    new_address = "文三路 100 号 更正后地址"
    answer = await correct(
        stack, birth_id, {"child": {"name": NEW_NAME}, "household": {"hukou_address": new_address}}
    )
    assert answer.status_code == 202, answer.text
    await wait_settled_at(stack, birth_id, 2)

    [certificate] = await stack.records("nhc")
    assert certificate["key"] == f"{birth_id}:birth_certificate"  # the same key, sent again
    assert certificate["requests"] == 2
    assert certificate["state"] == "issued"
    assert certificate["data"]["xsexm"] == NEW_NAME
    assert certificate["changes"] == []
    [household] = await stack.records("mps")
    assert household["data"]["xm"] == NEW_NAME
    assert household["data"]["hjdz"]["xz"] == new_address
    assert household["changes"] == []  # sent with the new data: nothing to amend
    for department in ("nhsa", "hrss"):
        [record] = await stack.records(department)
        assert record["changes"] == [], department
    # The vaccination record was done with the old name: it alone is amended.
    [vaccination] = await stack.records("cdc")
    assert [c["key"] for c in vaccination["changes"]] == [f"{birth_id}:vaccination_record:amend:2"]


async def test_a_wrong_correction_is_refused_naming_the_field_and_changes_nothing(
    stack: Stack,
) -> None:
    birth_id = (await stack.post(birth_event(random.Random(43)))).json()["birth_id"]
    await stack.wait_until_final(birth_id)
    wrong = await correct(stack, birth_id, {"child": {"weight_g": 10, "name": "x1"}})
    assert wrong.status_code == 422
    pointers = {e["pointer"] for e in wrong.json()["errors"]}
    assert pointers == {"/child/weight_g", "/child/name"}
    renamed = await correct(stack, birth_id, {"hospital_record_id": "ANOTHER-1"})
    assert renamed.status_code == 422
    assert renamed.json()["errors"][0]["pointer"] == "/hospital_record_id"
    assert (await correct(stack, birth_id, [1, 2])).status_code == 422
    event = (await stack.birth(birth_id))["hospital_record_id"]
    same = await correct(stack, birth_id, {"hospital_record_id": event})
    assert same.status_code == 200  # changes nothing: no new version
    assert same.json()["event_version"] == 1
    other = await stack.anonymous.post(
        f"/v1/births/{birth_id}/corrections",
        json={"child": {"name": NEW_NAME}},
        headers={"Authorization": f"Bearer {stack.other_hospital_key}"},
    )
    assert other.status_code == 404
    birth = await stack.birth(birth_id)
    assert birth["event_version"] == 1
    assert len(birth["versions"]) == 1
    for department in DEPARTMENTS:
        [record] = await stack.records(department)
        assert record["changes"] == [], department


async def test_a_household_registration_rejected_at_review_is_amended_and_approved(
    stack: Stack,
) -> None:
    event = birth_event(random.Random(44))
    reason = "姓名与出生医学证明不符 / name differs from the certificate"
    await stack.faults(
        "mps",
        reject_at_review=[{"field": "xm", "equals": event["child"]["name"], "reason": reason}],
    )
    birth_id = (await stack.post(event)).json()["birth_id"]
    birth = await stack.wait_until_final(birth_id)
    household = step_of(birth, "household_registration")
    assert (birth["status"], household["state"]) == ("action_required", "rejected")
    assert reason in household["last_error"]

    assert (await correct(stack, birth_id, {"child": {"name": NEW_NAME}})).status_code == 202
    birth = await wait_settled_at(stack, birth_id, 2)
    assert all(s["state"] == "completed" for s in birth["steps"])
    [application] = await stack.records("mps")
    assert application["requests"] == 1  # not filed again: amended, then reviewed again
    assert application["state"] == "approved"
    assert application["data"]["xm"] == NEW_NAME
    assert [c["key"] for c in application["changes"]] == [
        f"{birth_id}:household_registration:amend:2"
    ]
    [enrolment] = await stack.records("nhsa")
    assert enrolment["data"]["psn_name"] == NEW_NAME  # sent after the correction
    assert enrolment["changes"] == []
