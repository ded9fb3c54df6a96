"""What a hospital is answered for the inputs of issue 11: control characters, a
foreign hukou declarant, Hong Kong, Macao and Taiwan parents, and names whose middle
dot is spelt with a look-alike (accepted, and said so)."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.cases.birth_cases import _set_path, make_resident_id, unique_event
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOSPITAL = unique_event()["hospital"]["code"]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    path: Path = tmp_path_factory.mktemp("input")
    async with running_gateway(path, (HOSPITAL,)) as running:
        yield running


async def post(gateway: Gateway, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = await gateway.client.post("/v1/births", json=body, headers=gateway.auth(HOSPITAL))
    return answer.status_code, answer.json()


def pointers(problem: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["pointer"], e["code"]) for e in problem["errors"]]


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("/vaccinations/0/site", "右上臂\u0007"),
        ("/vaccinations/0/lot_number", "HB\u00001"),
        ("/household/hukou_address", "浙江省杭州市西湖区\u0000文三路100号"),
        ("/hospital/name", "杭州市西湖区妇幼保健院\u0000"),
    ],
)
async def test_a_control_character_is_422_at_its_pointer_and_stores_nothing(
    gateway: Gateway, pointer: str, value: str
) -> None:
    body = unique_event()
    _set_path(body, pointer, value)
    before = await gateway.count_rows()

    status, problem = await post(gateway, body)

    assert status == 422, problem
    assert pointers(problem) == [(pointer, "invalid_characters")]
    assert problem["errors"][0]["message_zh"] == "不能包含控制字符"
    assert await gateway.count_rows() == before


async def test_a_russian_mother_as_hukou_declarant_is_422_at_register_with(
    gateway: Gateway,
) -> None:
    body = unique_event()
    body["mother"].update(id_type="passport", id_number="751234567", nationality="RUS")
    del body["mother"]["ethnicity"]
    body["household"]["register_with"] = "mother"

    status, problem = await post(gateway, body)

    assert status == 422, problem
    assert pointers(problem) == [("/household/register_with", "citizen_required")]


async def test_a_taiwan_resident_mother_without_ethnicity_is_accepted(gateway: Gateway) -> None:
    body = unique_event()
    born = date(datetime.now(UTC).year - 29, 8, 8)
    body["mother"].update(id_number=make_resident_id("830000", born, 36, sex="2"))
    del body["mother"]["ethnicity"]

    status, answer = await post(gateway, body)

    assert status == 202, answer
    assert "notes" not in answer


async def test_a_look_alike_middle_dot_is_accepted_as_the_dot_and_noted(
    gateway: Gateway,
) -> None:
    body = unique_event()
    body["child"]["name"] = "阿依古丽•买买提"
    body["contact"]["mailing_address"]["recipient"] = "约翰.史密斯"

    status, answer = await post(gateway, body)
    again_status, again = await post(gateway, body)  # a retried post: the same answer

    assert status == 202, answer
    assert [(n["pointer"], n["code"], n["value"]) for n in answer["notes"]] == [
        ("/child/name", "middle_dot_normalised", "阿依古丽·买买提"),
        ("/contact/mailing_address/recipient", "middle_dot_normalised", "约翰·史密斯"),
    ]
    assert all(n["message"] and n["message_zh"] for n in answer["notes"])
    assert again_status == 200
    assert again["notes"] == answer["notes"]


async def test_other_punctuation_in_a_name_is_422(gateway: Gateway) -> None:
    body = unique_event()
    body["child"]["name"] = "王/小明"

    status, problem = await post(gateway, body)

    assert status == 422
    assert pointers(problem) == [("/child/name", "invalid_characters")]


async def test_a_correction_is_held_to_the_same_rules_and_notes(gateway: Gateway) -> None:
    event = unique_event()
    status, posted = await post(gateway, event)
    assert status == 202
    path = f"/v1/births/{posted['birth_id']}/corrections"

    control = await gateway.client.post(
        path,
        json={"vaccinations": [{**event["vaccinations"][0], "site": "右上臂\u0007"}]},
        headers=gateway.auth(HOSPITAL),
    )
    renamed = await gateway.client.post(
        path, json={"child": {"name": "阿依古丽・买买提"}}, headers=gateway.auth(HOSPITAL)
    )

    assert control.status_code == 422
    assert pointers(control.json()) == [("/vaccinations/0/site", "invalid_characters")]
    assert renamed.status_code == 202, renamed.text
    assert [(n["pointer"], n["value"]) for n in renamed.json()["notes"]] == [
        ("/child/name", "阿依古丽·买买提")
    ]
