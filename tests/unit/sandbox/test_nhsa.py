"""Healthcare security: medical insurance enrolment with the national platform's names."""

from datetime import date

import httpx

from sandbox.citizen_id import citizen_id
from tests.unit.sandbox.support import key, nhsa_body, records, set_faults

ENROL = "/nhsa/insurance/enrol"


async def enrol(client: httpx.AsyncClient, idempotency_key: str, **fields: object) -> str:
    response = await client.post(ENROL, json=nhsa_body() | fields, headers=key(idempotency_key))
    assert response.status_code == 200, response.text
    psn_no: str = response.json()["psn_no"]
    return psn_no


async def test_nhsa_enrols_and_answers_an_insurance_number(client: httpx.AsyncClient) -> None:
    response = await client.post(ENROL, json=nhsa_body(), headers=key("b1:insurance"))

    assert response.status_code == 200
    assert set(response.json()) == {"psn_no"}
    assert response.json()["psn_no"].startswith("330106")
    [record] = await records(client, "nhsa")
    assert (record["state"], record["data"]) == ("enrolled", nhsa_body())


async def test_nhsa_replays_the_enrolment_for_the_same_key(client: httpx.AsyncClient) -> None:
    first = await client.post(ENROL, json=nhsa_body(), headers=key("b1:insurance"))
    again = await client.post(ENROL, json=nhsa_body(), headers=key("b1:insurance"))

    assert (again.status_code, again.content) == (first.status_code, first.content)
    [record] = await records(client, "nhsa")
    assert record["requests"] == 2


async def test_nhsa_conflicts_on_the_same_certno_under_another_key(
    client: httpx.AsyncClient,
) -> None:
    await enrol(client, "b1:insurance")

    response = await client.post(ENROL, json=nhsa_body(), headers=key("b2:insurance"))

    assert response.status_code == 409
    assert set(response.json()) == {"err_msg"}
    assert [r["state"] for r in await records(client, "nhsa")] == ["enrolled", "refused"]


async def test_nhsa_enrols_the_certno_again_once_stopped(client: httpx.AsyncClient) -> None:
    psn_no = await enrol(client, "b1:insurance")
    stopped = await client.post(f"{ENROL}/{psn_no}/stop", json={"reason": "出生登记有误"},
                                headers=key("b1:insurance:stop"))

    response = await client.post(ENROL, json=nhsa_body(), headers=key("b2:insurance"))

    assert stopped.json() == {"psn_no": psn_no, "status": "stopped"}
    assert response.status_code == 200


async def test_nhsa_refuses_in_its_error_shape(client: httpx.AsyncClient) -> None:
    await set_faults(client, "nhsa", reject=[{"field": "insu_admdvs", "equals": "330106",
                                              "reason": "参保地不符"}])

    response = await client.post(ENROL, json=nhsa_body(), headers=key("b1:insurance"))

    assert response.status_code == 400
    assert response.json() == {"infcode": -1, "err_msg": "参保地不符"}


async def test_nhsa_refuses_a_citizen_id_with_a_wrong_check_digit(
    client: httpx.AsyncClient,
) -> None:
    good = nhsa_body()["certno"]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")

    response = await client.post(ENROL, json=nhsa_body(certno=wrong), headers=key("k"))

    assert response.status_code == 400
    assert response.json()["infcode"] == -1


async def test_nhsa_updates_an_enrolment(client: httpx.AsyncClient) -> None:
    psn_no = await enrol(client, "b1:insurance")

    response = await client.post(f"{ENROL}/{psn_no}/update", json={"psn_name": "张晓明"},
                                 headers=key("b1:insurance:v2"))

    assert response.json() == {"psn_no": psn_no, "status": "updated"}
    [record] = await records(client, "nhsa")
    assert record["data"]["psn_name"] == "张晓明"


async def test_nhsa_update_to_a_certno_enrolled_elsewhere_is_a_409(
    client: httpx.AsyncClient,
) -> None:
    other = citizen_id("330106", date(2026, 11, 27), 3)
    await enrol(client, "b1:insurance")
    psn_no = await enrol(client, "b2:insurance", certno=other)

    response = await client.post(f"{ENROL}/{psn_no}/update", json={"certno": nhsa_body()["certno"]},
                                 headers=key("b2:insurance:v2"))

    assert response.status_code == 409


async def test_nhsa_does_not_update_a_stopped_enrolment(client: httpx.AsyncClient) -> None:
    psn_no = await enrol(client, "b1:insurance")
    await client.post(f"{ENROL}/{psn_no}/stop", json={"reason": "错误"}, headers=key("stop"))

    response = await client.post(f"{ENROL}/{psn_no}/update", json={"psn_name": "张晓明"},
                                 headers=key("v2"))

    assert response.status_code == 400
    assert response.json()["infcode"] == -1


async def test_nhsa_unknown_enrolment_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{ENROL}/0/stop", json={"reason": "错误"}, headers=key("k"))

    assert response.status_code == 404
    assert set(response.json()) == {"infcode", "err_msg"}
