"""Health commission: birth medical certificates in JSON."""

import re

import httpx

from tests.unit.sandbox.support import key, nhc_body, records, set_faults


async def test_nhc_issues_a_certificate_number_of_one_letter_and_nine_digits(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))

    assert response.status_code == 201
    assert re.fullmatch(r"[A-Z][0-9]{9}", response.json()["zmbh"])
    [record] = await records(client, "nhc")
    assert record["key"] == "b1:cert"
    assert record["requests"] == 1
    assert record["state"] == "issued"
    assert record["data"] == nhc_body()
    assert record["ref"] == response.json()["zmbh"]


async def test_nhc_replays_the_same_answer_for_the_same_idempotency_key(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))
    again = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))

    assert (again.status_code, again.content) == (first.status_code, first.content)
    [record] = await records(client, "nhc")
    assert record["requests"] == 2


async def test_nhc_gives_another_key_another_certificate(client: httpx.AsyncClient) -> None:
    first = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))
    second = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b2:cert"))

    assert first.json()["zmbh"] != second.json()["zmbh"]
    assert len(await records(client, "nhc")) == 2


async def test_nhc_refuses_by_a_reject_rule_in_its_error_shape(client: httpx.AsyncClient) -> None:
    await set_faults(client, "nhc", reject=[{"field": "jgdm", "equals": "H3301060001",
                                             "reason": "医疗机构未备案"}])

    response = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))

    assert response.status_code == 400
    assert response.json() == {"cwdm": "REJECTED", "cwxx": "医疗机构未备案"}
    [record] = await records(client, "nhc")
    assert record["state"] == "refused"


async def test_nhc_accepts_a_corrected_submission_under_the_refused_key(
    client: httpx.AsyncClient,
) -> None:
    rule = {"field": "tz", "equals": "3250", "reason": "体重有误"}
    await set_faults(client, "nhc", reject=[rule])
    refused = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))
    corrected = await client.post("/nhc/csyxzm", json=nhc_body() | {"tz": 3260},
                                  headers=key("b1:cert"))

    assert refused.status_code == 400
    assert corrected.status_code == 201
    [record] = await records(client, "nhc")
    assert (record["state"], record["requests"], record["data"]["tz"]) == ("issued", 2, 3260)


async def test_nhc_without_idempotency_key_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/nhc/csyxzm", json=nhc_body())

    assert response.status_code == 400
    assert response.json()["cwdm"] == "MISSING_IDEMPOTENCY_KEY"
    assert await records(client, "nhc") == []


async def test_nhc_changes_without_idempotency_key_are_a_400(
    client: httpx.AsyncClient,
) -> None:
    zmbh = (await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1"))).json()["zmbh"]

    response = await client.post(f"/nhc/csyxzm/{zmbh}/zf", json={"yy": "错误"})

    assert response.status_code == 400
    [record] = await records(client, "nhc")
    assert record["state"] == "issued"


async def test_nhc_malformed_bodies_are_400_in_its_error_shape(client: httpx.AsyncClient) -> None:
    father_without_id = {k: v for k, v in nhc_body().items() if k != "fqsfzh"}
    bodies = [b"{not json", b"[1, 2]", nhc_body() | {"xb": "3"}, nhc_body() | {"extra": 1},
              nhc_body() | {"csrq": "202613270830"}, father_without_id]
    for number, body in enumerate(bodies):
        kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
        response = await client.post("/nhc/csyxzm", headers=key(f"k{number}"), **kwargs)
        assert response.status_code == 400, body
        assert set(response.json()) == {"cwdm", "cwxx"}
    assert await records(client, "nhc") == []


async def test_nhc_accepts_a_birth_without_father(client: httpx.AsyncClient) -> None:
    body = {k: v for k, v in nhc_body().items() if not k.startswith("fq")}

    response = await client.post("/nhc/csyxzm", json=body, headers=key("b1:cert"))

    assert response.status_code == 201


async def test_nhc_voids_a_certificate_and_replays_the_void(client: httpx.AsyncClient) -> None:
    issued = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))
    zmbh = issued.json()["zmbh"]

    void = await client.post(f"/nhc/csyxzm/{zmbh}/zf", json={"yy": "出生登记有误"},
                             headers=key("b1:cert:void"))
    again = await client.post(f"/nhc/csyxzm/{zmbh}/zf", json={"yy": "出生登记有误"},
                              headers=key("b1:cert:void"))

    assert void.status_code == 200
    assert void.json() == {"zmbh": zmbh, "zt": "voided"}
    assert again.content == void.content
    [record] = await records(client, "nhc")
    assert record["state"] == "voided"
    assert [(c["key"], c["action"], c["requests"]) for c in record["changes"]] == [
        ("b1:cert:void", "void", 2)]


async def test_nhc_amends_the_fields_that_change(client: httpx.AsyncClient) -> None:
    issued = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))
    zmbh = issued.json()["zmbh"]

    amended = await client.post(f"/nhc/csyxzm/{zmbh}/bg", json={"xsexm": "张晓明"},
                                headers=key("b1:cert:v2"))

    assert amended.status_code == 200
    assert amended.json() == {"zmbh": zmbh, "zt": "amended"}
    [record] = await records(client, "nhc")
    assert record["data"] == nhc_body() | {"xsexm": "张晓明"}
    assert record["state"] == "amended"


async def test_nhc_refuses_an_amendment_that_breaks_the_record(client: httpx.AsyncClient) -> None:
    issued = await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1:cert"))
    zmbh = issued.json()["zmbh"]

    response = await client.post(f"/nhc/csyxzm/{zmbh}/bg", json={"xb": "5"},
                                 headers=key("b1:cert:v2"))

    assert response.status_code == 400
    [record] = await records(client, "nhc")
    assert (record["data"], record["state"]) == (nhc_body(), "issued")


async def test_nhc_does_not_amend_a_voided_certificate(client: httpx.AsyncClient) -> None:
    zmbh = (await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1"))).json()["zmbh"]
    await client.post(f"/nhc/csyxzm/{zmbh}/zf", json={"yy": "错误"}, headers=key("b1:void"))

    response = await client.post(f"/nhc/csyxzm/{zmbh}/bg", json={"xsexm": "张晓明"},
                                 headers=key("b1:v2"))

    assert response.status_code == 400
    assert response.json()["cwdm"] == "VOIDED"


async def test_nhc_unknown_certificate_is_a_404_in_its_error_shape(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/nhc/csyxzm/A000000000/zf", json={"yy": "错误"},
                                 headers=key("x"))

    assert response.status_code == 404
    assert response.json()["cwdm"] == "NOT_FOUND"


async def test_a_key_reused_for_another_kind_of_request_is_refused(
    client: httpx.AsyncClient,
) -> None:
    zmbh = (await client.post("/nhc/csyxzm", json=nhc_body(), headers=key("b1"))).json()["zmbh"]

    response = await client.post(f"/nhc/csyxzm/{zmbh}/zf", json={"yy": "错误"},
                                 headers=key("b1"))

    assert response.status_code == 422
    assert response.json()["cwdm"] == "IDEMPOTENCY_KEY_REUSED"
