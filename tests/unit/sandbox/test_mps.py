"""Public security: household registration, reviewed later, answered by callback."""

from datetime import datetime

import httpx
import pytest
from stdnum.cn import ric

from sandbox.app import Sandbox
from tests.unit.sandbox.support import (
    FakeClock,
    Receiver,
    key,
    mps_body,
    records,
    set_faults,
    verify_signature,
    wait_until,
)

APPLICATIONS = "/mps/hukou/applications"


@pytest.fixture
def gateway_url(receiver: Receiver) -> str:
    return receiver.url


async def apply(client: httpx.AsyncClient, body: dict[str, object], idempotency_key: str
                ) -> str:
    response = await client.post(APPLICATIONS, json=body, headers=key(idempotency_key))
    assert response.status_code == 202, response.text
    sqbh: str = response.json()["sqbh"]
    return sqbh


async def test_mps_accepts_an_application_as_pending(client: httpx.AsyncClient) -> None:
    response = await client.post(APPLICATIONS, json=mps_body(), headers=key("b1:hukou"))
    status = await client.get(f"{APPLICATIONS}/{response.json()['sqbh']}")

    assert response.status_code == 202
    assert response.json()["zt"] == "pending"
    assert response.json()["sqbh"].startswith("MPS20261127")
    assert status.json() == {"sqbh": response.json()["sqbh"], "zt": "pending"}


@pytest.mark.parametrize(("sex", "parity"), [("1", 1), ("2", 0), ("9", 1)])
async def test_mps_approves_with_a_valid_citizen_id(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver, sex: str, parity: int,
) -> None:
    sqbh = await apply(client, mps_body(sex=sex, region="110101"), "b1:hukou")

    clock.advance(3600)
    await wait_until(lambda: len(receiver.accepted()) == 1)

    [callback] = receiver.accepted()
    assert callback.department == "mps"
    assert verify_signature("dev-mps-secret", callback.body, callback.signature)
    answer = callback.json()
    assert (answer["sqbh"], answer["zt"]) == (sqbh, "approved")
    gmsfhm = answer["gmsfhm"]
    assert ric.is_valid(gmsfhm)
    assert gmsfhm[:6] == "110101"  # the hukou region, not the birthplace
    assert gmsfhm[6:14] == "20261127"
    assert int(gmsfhm[14:17]) % 2 == parity
    status = await client.get(f"{APPLICATIONS}/{sqbh}")
    assert status.json() == answer


async def test_mps_signs_the_callback_with_the_time_of_its_clock(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver,
) -> None:
    await apply(client, mps_body(), "b1:hukou")

    clock.advance(3600)
    await wait_until(lambda: len(receiver.accepted()) == 1)

    timestamp = receiver.accepted()[0].signature.split(",")[0]
    assert timestamp == f"t={int(clock.now.timestamp())}"


async def test_mps_gives_two_children_two_citizen_ids(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver,
) -> None:
    await apply(client, mps_body(), "b1:hukou")
    await apply(client, mps_body(), "b2:hukou")

    clock.advance(3600)
    await wait_until(lambda: len(receiver.accepted()) == 2)

    ids = {callback.json()["gmsfhm"] for callback in receiver.accepted()}
    assert len(ids) == 2


async def test_mps_review_waits_for_the_department_delay(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: Sandbox,
) -> None:
    sqbh = await apply(client, mps_body(), "b1:hukou")

    clock.advance(3599)
    assert sandbox.sweep() == 0
    assert (await client.get(f"{APPLICATIONS}/{sqbh}")).json()["zt"] == "pending"
    clock.advance(1)
    assert sandbox.sweep() == 1
    assert (await client.get(f"{APPLICATIONS}/{sqbh}")).json()["zt"] == "approved"


async def test_mps_later_delay_fault_overrides_the_default(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: Sandbox,
) -> None:
    await set_faults(client, "mps", later_delay_s=10)
    await apply(client, mps_body(), "b1:hukou")

    clock.advance(10)

    assert sandbox.sweep() == 1


async def test_mps_rejects_at_review_by_callback(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver,
) -> None:
    await set_faults(client, "mps", reject_at_review=[
        {"field": "sbr.gx", "equals": "mother", "reason": "请提供父亲的户口簿"}])
    sqbh = await apply(client, mps_body(), "b1:hukou")

    clock.advance(3600)
    await wait_until(lambda: len(receiver.accepted()) == 1)

    expected = {"sqbh": sqbh, "zt": "rejected", "yy": "请提供父亲的户口簿"}
    assert receiver.accepted()[0].json() == expected
    assert (await client.get(f"{APPLICATIONS}/{sqbh}")).json() == expected
    [record] = await records(client, "mps")
    assert record["state"] == "rejected"


async def test_mps_amending_a_rejected_application_sends_it_back_to_review(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver,
) -> None:
    await set_faults(client, "mps", reject_at_review=[
        {"field": "hjdz.xz", "equals": "东城区东华门街道 1 号", "reason": "地址不详"}])
    sqbh = await apply(client, mps_body(), "b1:hukou")
    clock.advance(3600)
    await wait_until(lambda: len(receiver.accepted()) == 1)

    amended = await client.post(f"{APPLICATIONS}/{sqbh}/bg",
                                json={"hjdz": {"xz": "东城区东华门街道 2 号"}},
                                headers=key("b1:hukou:v2"))
    clock.advance(3600)
    await wait_until(lambda: len(receiver.accepted()) == 2)

    assert amended.json() == {"sqbh": sqbh, "zt": "pending"}
    assert receiver.accepted()[1].json()["zt"] == "approved"
    [record] = await records(client, "mps")
    assert record["data"]["hjdz"] == {"qh": "110101", "xz": "东城区东华门街道 2 号"}


async def test_mps_refuses_at_submission_in_its_error_shape(client: httpx.AsyncClient) -> None:
    await set_faults(client, "mps", reject=[{"field": "hjdz.qh", "equals": "110101",
                                             "reason": "户籍地不在本省"}])

    response = await client.post(APPLICATIONS, json=mps_body(), headers=key("b1:hukou"))

    assert response.status_code == 400
    assert response.json() == {"yy": "户籍地不在本省"}


async def test_mps_malformed_application_is_a_400(client: httpx.AsyncClient) -> None:
    body = mps_body() | {"sbr": {"xm": "李华", "gx": "aunt"}}

    response = await client.post(APPLICATIONS, json=body, headers=key("b1:hukou"))

    assert response.status_code == 400
    assert set(response.json()) == {"yy"}


async def test_mps_replays_the_submission_answer(client: httpx.AsyncClient) -> None:
    first = await client.post(APPLICATIONS, json=mps_body(), headers=key("b1:hukou"))
    again = await client.post(APPLICATIONS, json=mps_body(), headers=key("b1:hukou"))

    assert (again.status_code, again.content) == (first.status_code, first.content)
    [record] = await records(client, "mps")
    assert record["requests"] == 2


async def test_mps_withdrawn_application_is_never_reviewed(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: Sandbox,
) -> None:
    sqbh = await apply(client, mps_body(), "b1:hukou")

    response = await client.post(f"{APPLICATIONS}/{sqbh}/withdraw", json={"yy": "出生登记有误"},
                                 headers=key("b1:hukou:withdraw"))
    clock.advance(3600)

    assert response.json() == {"sqbh": sqbh, "zt": "withdrawn"}
    assert sandbox.sweep() == 0
    assert (await client.get(f"{APPLICATIONS}/{sqbh}")).json() == {"sqbh": sqbh,
                                                                   "zt": "withdrawn"}


async def test_mps_withdraws_an_approved_application(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: Sandbox,
) -> None:
    sqbh = await apply(client, mps_body(), "b1:hukou")
    clock.advance(3600)
    sandbox.sweep()

    response = await client.post(f"{APPLICATIONS}/{sqbh}/withdraw", json={"yy": "撤销"},
                                 headers=key("b1:hukou:withdraw"))

    assert response.json()["zt"] == "withdrawn"


async def test_mps_amends_a_pending_application(client: httpx.AsyncClient) -> None:
    sqbh = await apply(client, mps_body(), "b1:hukou")

    response = await client.post(f"{APPLICATIONS}/{sqbh}/bg", json={"xm": "张晓明"},
                                 headers=key("b1:hukou:v2"))

    assert response.json() == {"sqbh": sqbh, "zt": "pending"}
    [record] = await records(client, "mps")
    assert record["data"]["xm"] == "张晓明"


async def test_mps_unknown_application_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{APPLICATIONS}/MPS000")

    assert response.status_code == 404
    assert set(response.json()) == {"yy"}


async def test_mps_approval_date_is_the_child_birth_date_not_today(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: Sandbox,
) -> None:
    sqbh = await apply(client, mps_body() | {"csrq": "20260101"}, "b1:hukou")
    clock.now = datetime(2026, 12, 31, tzinfo=clock.now.tzinfo)
    sandbox.sweep()

    status = (await client.get(f"{APPLICATIONS}/{sqbh}")).json()

    assert status["gmsfhm"][6:14] == "20260101"
