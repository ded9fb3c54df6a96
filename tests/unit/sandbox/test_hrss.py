"""Human resources and social security: social security cards, made later."""

import httpx
import pytest

from sandbox.app import Sandbox
from tests.unit.sandbox.support import (
    FakeClock,
    Receiver,
    hrss_body,
    key,
    records,
    verify_signature,
    wait_until,
)

APPLICATIONS = "/hrss/sbk/applications"


@pytest.fixture
def gateway_url(receiver: Receiver) -> str:
    return receiver.url


async def apply(client: httpx.AsyncClient, body: dict[str, object], idempotency_key: str
                ) -> str:
    response = await client.post(APPLICATIONS, json=body, headers=key(idempotency_key))
    assert response.status_code == 202, response.text
    sqh: str = response.json()["sqh"]
    return sqh


async def test_hrss_makes_a_mailed_card_and_calls_back_with_the_mailing_date(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver,
) -> None:
    sqh = await apply(client, hrss_body(mail=True), "b1:card")
    assert (await client.get(f"{APPLICATIONS}/{sqh}")).json() == {"sqh": sqh, "zt": "pending"}

    clock.advance(16 * 3600)  # 10:00 + 16 h: the next day in China
    await wait_until(lambda: len(receiver.accepted()) == 1)

    [callback] = receiver.accepted()
    assert callback.department == "hrss"
    assert verify_signature("dev-hrss-secret", callback.body, callback.signature)
    answer = callback.json()
    assert set(answer) == {"sqh", "kh", "yjrq"}
    assert (answer["sqh"], answer["yjrq"]) == (sqh, "2026-11-28")
    status = (await client.get(f"{APPLICATIONS}/{sqh}")).json()
    assert status == {"sqh": sqh, "zt": "made", "kh": answer["kh"], "yjrq": "2026-11-28"}


async def test_hrss_collected_card_has_no_mailing_date(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver,
) -> None:
    sqh = await apply(client, hrss_body(mail=False), "b1:card")

    clock.advance(3600)
    await wait_until(lambda: len(receiver.accepted()) == 1)

    answer = receiver.accepted()[0].json()
    assert answer["sqh"] == sqh
    assert answer["yjrq"] is None
    assert answer["kh"]


@pytest.mark.parametrize("body", [
    hrss_body(mail=True) | {"yjdz": None},
    hrss_body(mail=False) | {"yjdz": hrss_body(mail=True)["yjdz"]},
    hrss_body() | {"lqfs": "3"},
    hrss_body() | {"zp": "not base64!"},
])
async def test_hrss_refuses_inconsistent_delivery_and_bad_fields_with_msg(
    client: httpx.AsyncClient, body: dict[str, object],
) -> None:
    response = await client.post(APPLICATIONS, json=body, headers=key("b1:card"))

    assert response.status_code == 400
    assert set(response.json()) == {"msg"}


async def test_hrss_accepts_an_optional_photo(client: httpx.AsyncClient) -> None:
    response = await client.post(APPLICATIONS, json=hrss_body() | {"zp": "iVBORw0KGgo="},
                                 headers=key("b1:card"))

    assert response.status_code == 202


async def test_hrss_cancelled_application_makes_no_card(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: Sandbox,
) -> None:
    sqh = await apply(client, hrss_body(), "b1:card")

    response = await client.post(f"{APPLICATIONS}/{sqh}/cancel", json={"yy": "出生登记有误"},
                                 headers=key("b1:card:cancel"))
    clock.advance(3600)

    assert response.json() == {"sqh": sqh, "zt": "cancelled"}
    assert sandbox.sweep() == 0
    assert (await client.get(f"{APPLICATIONS}/{sqh}")).json() == {"sqh": sqh, "zt": "cancelled"}


async def test_hrss_updates_the_mailing_address(client: httpx.AsyncClient) -> None:
    sqh = await apply(client, hrss_body(), "b1:card")

    response = await client.post(f"{APPLICATIONS}/{sqh}/update",
                                 json={"yjdz": {"xxdz": "文三路 2 号"}},
                                 headers=key("b1:card:v2"))

    assert response.json() == {"sqh": sqh, "zt": "pending"}
    [record] = await records(client, "hrss")
    assert record["data"]["yjdz"]["xxdz"] == "文三路 2 号"


async def test_hrss_switches_to_collection_by_update(client: httpx.AsyncClient) -> None:
    sqh = await apply(client, hrss_body(), "b1:card")

    response = await client.post(f"{APPLICATIONS}/{sqh}/update",
                                 json={"lqfs": "2", "yjdz": None}, headers=key("b1:card:v2"))

    assert response.status_code == 200
    [record] = await records(client, "hrss")
    assert "yjdz" not in record["data"]


async def test_hrss_unknown_application_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{APPLICATIONS}/HRSS0")

    assert response.status_code == 404
    assert set(response.json()) == {"msg"}


async def test_hrss_replays_the_application_answer(client: httpx.AsyncClient) -> None:
    first = await client.post(APPLICATIONS, json=hrss_body(), headers=key("b1:card"))
    again = await client.post(APPLICATIONS, json=hrss_body(), headers=key("b1:card"))

    assert (again.status_code, again.content) == (first.status_code, first.content)
    [record] = await records(client, "hrss")
    assert record["requests"] == 2
