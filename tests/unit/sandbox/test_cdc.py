"""Immunisation registry: XML in, XML out, nothing unsafe parsed."""

from xml.etree import ElementTree

import httpx
import pytest

from tests.unit.sandbox.support import cdc_body, key, records, set_faults

REGISTER = "/cdc/ImmunizationService/register"
XML = {"Content-Type": "application/xml"}


def xml(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"].startswith("application/xml")
    return {child.tag: child.text or "" for child in ElementTree.fromstring(response.content)}


def root(response: httpx.Response) -> str:
    return ElementTree.fromstring(response.content).tag


async def register(client: httpx.AsyncClient, body: bytes, idempotency_key: str
                   ) -> httpx.Response:
    return await client.post(REGISTER, content=body, headers=XML | key(idempotency_key))


async def test_cdc_registers_xml_and_answers_a_record_number_in_xml(
    client: httpx.AsyncClient,
) -> None:
    response = await register(client, cdc_body(), "b1:vacc")

    assert response.status_code == 200
    assert root(response) == "Result"
    record_no = xml(response)["RecordNo"]
    assert record_no.startswith("CDC330106")
    [record] = await records(client, "cdc")
    assert (record["state"], record["ref"]) == ("registered", record_no)
    assert record["data"]["Child"]["Sex"] == "1"
    assert record["data"]["Hospital"] == {"code": "H3301060001"}
    assert [dose["vaccine"] for dose in record["data"]["Dose"]] == ["HepB", "BCG"]


async def test_cdc_replays_the_same_xml_for_the_same_key(client: httpx.AsyncClient) -> None:
    first = await register(client, cdc_body(), "b1:vacc")
    again = await register(client, cdc_body(), "b1:vacc")

    assert (again.status_code, again.content) == (first.status_code, first.content)
    [record] = await records(client, "cdc")
    assert record["requests"] == 2


@pytest.mark.parametrize("body", [
    b"<ChildRegistration><Child>",
    b"not xml at all",
    b"",
    b"<Other/>",
    b"<ChildRegistration><Hospital code='H1'/></ChildRegistration>",
    cdc_body().replace(b"<Sex>1</Sex>", b"<Sex>7</Sex>"),
])
async def test_cdc_malformed_or_invalid_xml_is_a_400_xml_error(
    client: httpx.AsyncClient, body: bytes,
) -> None:
    response = await register(client, body, "b1:vacc")

    assert response.status_code == 400
    assert root(response) == "Error"
    assert set(xml(response)) == {"Code", "Message"}
    assert await records(client, "cdc") == []


@pytest.mark.parametrize("body", [
    b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<ChildRegistration><Hospital code="&lol2;"/></ChildRegistration>""",
    b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ChildRegistration><Hospital code="&xxe;"/></ChildRegistration>""",
    b"""<!DOCTYPE ChildRegistration><ChildRegistration/>""",
])
async def test_cdc_refuses_doctypes_and_entities_without_expanding_them(
    client: httpx.AsyncClient, body: bytes,
) -> None:
    response = await register(client, body, "b1:vacc")

    assert response.status_code == 400
    assert xml(response) == {"Code": "MALFORMED_XML",
                             "Message": "DTDs and entities are not accepted"}


async def test_cdc_reject_rules_reach_attributes_of_repeated_elements(
    client: httpx.AsyncClient,
) -> None:
    await set_faults(client, "cdc", reject=[{"field": "Dose.vaccine", "equals": "BCG",
                                             "reason": "卡介苗批号未登记"}])

    response = await register(client, cdc_body(), "b1:vacc")

    assert response.status_code == 400
    assert xml(response) == {"Code": "REJECTED", "Message": "卡介苗批号未登记"}


async def test_cdc_faults_answer_in_xml(client: httpx.AsyncClient) -> None:
    await set_faults(client, "cdc", fail_next=1)

    response = await register(client, cdc_body(), "b1:vacc")

    assert response.status_code == 503
    assert root(response) == "Error"


async def test_cdc_cancels_a_record(client: httpx.AsyncClient) -> None:
    record_no = xml(await register(client, cdc_body(), "b1:vacc"))["RecordNo"]
    cancel = (f"<Cancel><RecordNo>{record_no}</RecordNo><Reason>出生登记有误</Reason>"
              "</Cancel>").encode()

    response = await client.post("/cdc/ImmunizationService/cancel", content=cancel,
                                 headers=XML | key("b1:vacc:cancel"))

    assert response.status_code == 200
    assert xml(response) == {"RecordNo": record_no, "Status": "cancelled"}
    [record] = await records(client, "cdc")
    assert record["state"] == "cancelled"


async def test_cdc_updates_a_record_with_a_new_registration(client: httpx.AsyncClient) -> None:
    record_no = xml(await register(client, cdc_body(), "b1:vacc"))["RecordNo"]

    response = await client.post("/cdc/ImmunizationService/update",
                                 content=cdc_body(name="张晓明", record_no=record_no),
                                 headers=XML | key("b1:vacc:v2"))

    assert response.status_code == 200
    assert xml(response) == {"RecordNo": record_no, "Status": "updated"}
    [record] = await records(client, "cdc")
    assert record["state"] == "updated"
    assert record["data"]["Child"]["Name"] == "张晓明"
    assert "RecordNo" not in record["data"]


async def test_cdc_update_of_an_unknown_record_is_a_404_xml_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/cdc/ImmunizationService/update",
                                 content=cdc_body(record_no="CDC3301060000000000"),
                                 headers=XML | key("x"))

    assert response.status_code == 404
    assert xml(response)["Code"] == "NOT_FOUND"


async def test_cdc_does_not_update_a_cancelled_record(client: httpx.AsyncClient) -> None:
    record_no = xml(await register(client, cdc_body(), "b1:vacc"))["RecordNo"]
    cancel = f"<Cancel><RecordNo>{record_no}</RecordNo><Reason>错误</Reason></Cancel>"
    await client.post("/cdc/ImmunizationService/cancel", content=cancel.encode(),
                      headers=XML | key("b1:vacc:cancel"))

    response = await client.post("/cdc/ImmunizationService/update",
                                 content=cdc_body(record_no=record_no),
                                 headers=XML | key("b1:vacc:v2"))

    assert response.status_code == 400
    assert xml(response)["Code"] == "CANCELLED"
