"""FHIR intake (issue 14, SPEC §12): BFDR-shaped Bundles posted as
application/fhir+json become the same birth as the JSON event, through the same
validation, duplicate rule and idempotency; errors are OperationOutcomes that point
into the Bundle and store nothing."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from birthlink.samples import DEMO_HOSPITAL
from contracts.problems import BirthEventInvalid, parse_birth_event
from gateway.clock import ManualClock
from gateway.fhir.bundle import map_bundle, parse_bundle
from gateway.fhir.outcome import PROBLEM_SYSTEM, TRANSLATION
from tests.cases.fhir_bundles import (
    CHILD,
    FHIR_JSON,
    JSON_EXAMPLE,
    MOTHER,
    ORGANIZATION,
    answer,
    as_message,
    drop_answer,
    entry_of,
    example,
    post_kwargs,
    twin,
    with_ignored_resources,
    without_father,
)
from tests.support.gateway import Gateway, running_gateway

# A moment after the example's birth and consents (1 December 2026, China time).
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CODE = DEMO_HOSPITAL["code"]


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path, (CODE, "H11010500009")) as gw:
        gw.runtime.clock = ManualClock(NOW)
        yield gw


async def post(gw: Gateway, bundle: object, version: str | None = None, who: str = CODE) -> Any:
    kwargs = post_kwargs(bundle, version)
    kwargs["headers"].update(gw.auth(who))
    return await gw.client.post("/v1/births", **kwargs)


def normalized(data: dict[str, Any]) -> dict[str, Any]:
    return parse_birth_event(data, now=NOW).model_dump(mode="json")


def from_fhir(bundle: dict[str, Any]) -> dict[str, Any]:
    mapped = map_bundle(parse_bundle(bundle))
    assert mapped.problems == []
    return normalized(mapped.data)


def issues(answer: Any) -> list[dict[str, Any]]:
    assert answer.headers["content-type"].startswith(FHIR_JSON), answer.text
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    return list(body["issue"])


def code_of(issue: dict[str, Any]) -> str:
    coding = issue["details"]["coding"][0]
    assert coding["system"] == PROBLEM_SYSTEM
    return str(coding["code"])


def zh_of(issue: dict[str, Any]) -> str:
    ext = issue["details"]["_text"]["extension"][0]
    assert ext["url"] == TRANSLATION
    return str(next(e["valueString"] for e in ext["extension"] if e["url"] == "content"))


# -- accepted -------------------------------------------------------------------------


async def test_the_documented_example_bundle_posts_as_it_stands(gateway: Gateway) -> None:
    answer_ = await post(gateway, example())
    assert answer_.status_code == 202, answer_.text
    body = answer_.json()
    assert body["tracking_code"]
    assert answer_.headers["location"] == f"/v1/births/{body['birth_id']}"


def test_the_same_birth_as_json_and_as_fhir_is_the_same_normalized_event() -> None:
    assert from_fhir(example()) == normalized(json.loads(JSON_EXAMPLE.read_text()))


async def test_the_same_bundle_twice_is_one_birth(gateway: Gateway) -> None:
    first = await post(gateway, example())
    rows = await gateway.count_rows()
    again = await post(gateway, example())
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["birth_id"] == first.json()["birth_id"]
    assert await gateway.count_rows() == rows


async def test_another_bundle_under_the_same_identifier_is_a_conflict(gateway: Gateway) -> None:
    await post(gateway, example())
    changed = example()
    changed["entry"][CHILD]["resource"]["name"][0]["given"] = ["子墨"]
    answer_ = await post(gateway, changed)
    assert answer_.status_code == 409
    assert issues(answer_)[0]["code"] == "conflict"


@pytest.mark.parametrize("version", ["4.0", "4.3", None])
async def test_r4_and_r4b_are_accepted(gateway: Gateway, version: str | None) -> None:
    answer_ = await post(gateway, example(), version)
    assert answer_.status_code == 202, answer_.text


async def test_another_fhir_version_is_refused_with_an_outcome(gateway: Gateway) -> None:
    answer_ = await post(gateway, example(), "5.0")
    assert answer_.status_code == 415
    assert issues(answer_)[0]["code"] == "not-supported"
    assert await gateway.count_rows() == dict.fromkeys(await gateway.count_rows(), 0)


async def test_a_message_bundle_is_the_birth_of_its_document(gateway: Gateway) -> None:
    assert from_fhir(as_message(example())) == from_fhir(example())
    answer_ = await post(gateway, as_message(example()))
    assert answer_.status_code == 202, answer_.text
    again = await post(gateway, example())  # the same birth, as a document: the same
    assert again.status_code == 200
    assert again.json()["birth_id"] == answer_.json()["birth_id"]


async def test_a_collection_bundle_is_read_like_a_document(gateway: Gateway) -> None:
    bundle = example()
    bundle["type"] = "collection"
    assert from_fhir(bundle) == from_fhir(example())
    assert (await post(gateway, bundle)).status_code == 202


async def test_twins_are_two_births(gateway: Gateway) -> None:
    first, second = twin(example(), 1, "ZY2026-0001234"), twin(example(), 2, "ZY2026-0001235")
    assert from_fhir(second)["child"]["plurality"] == 2
    assert from_fhir(second)["child"]["birth_order"] == 2
    answers = [await post(gateway, b) for b in (first, second)]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json()["birth_id"] != answers[1].json()["birth_id"]


async def test_a_birth_with_no_father(gateway: Gateway) -> None:
    event = from_fhir(without_father(example()))
    assert event["father"] is None
    assert event["household"]["register_with"] == "mother"
    assert (await post(gateway, without_father(example()))).status_code == 202


async def test_resources_the_contract_does_not_need_and_unknown_loinc_codes_are_ignored(
    gateway: Gateway,
) -> None:
    bundle = with_ignored_resources(example())
    assert from_fhir(bundle) == from_fhir(example())
    assert (await post(gateway, bundle)).status_code == 202


# -- refused: an OperationOutcome at the right place, nothing stored ------------------


async def refused(gw: Gateway, bundle: object, status: int = 422) -> list[dict[str, Any]]:
    before = await gw.count_rows()
    answer_ = await post(gw, bundle)
    assert answer_.status_code == status, answer_.text
    assert await gw.count_rows() == before
    return issues(answer_)


def json_problem(mutate: Any) -> dict[str, Any]:
    """The problem the JSON path gives for the same mistake."""
    event = json.loads(JSON_EXAMPLE.read_text())
    mutate(event)
    with pytest.raises(BirthEventInvalid) as caught:
        parse_birth_event(event, now=NOW)
    (problem,) = caught.value.problems
    return problem.model_dump()


async def test_a_resident_id_with_a_wrong_check_digit(gateway: Gateway) -> None:
    bundle = example()
    bundle["entry"][MOTHER]["resource"]["identifier"][1]["value"] = "330106199610051289"
    (issue,) = await refused(gateway, bundle)
    assert issue["expression"] == [f"Bundle.entry[{MOTHER}].resource.identifier[1].value"]
    expected = json_problem(lambda e: e["mother"].update(id_number="330106199610051289"))
    assert code_of(issue) == expected["code"] == "invalid_check_digit"
    assert issue["details"]["text"] == expected["message"]
    assert zh_of(issue) == expected["message_zh"]


async def test_a_birth_time_in_the_future(gateway: Gateway) -> None:
    bundle = example()
    child = bundle["entry"][CHILD]["resource"]
    child["_birthDate"]["extension"][0]["valueDateTime"] = "2026-12-03T14:00:00+08:00"
    child["birthDate"] = "2026-12-03"
    found = await refused(gateway, bundle)
    issue = next(i for i in found if code_of(i) == "in_future")
    assert issue["expression"] == [
        f"Bundle.entry[{CHILD}].resource._birthDate.extension[0].valueDateTime"
    ]
    assert zh_of(issue) == "不能晚于当前时间"


async def test_no_child(gateway: Gateway) -> None:
    bundle = example()
    del bundle["entry"][0]["resource"]["subject"]
    found = await refused(gateway, bundle)
    assert found[0]["expression"] == ["Bundle.entry[0].resource.subject"]
    assert code_of(found[0]) == "missing"
    assert found[0]["code"] == "required"


async def test_two_mothers(gateway: Gateway) -> None:
    bundle = example()
    second = json.loads(json.dumps(bundle["entry"][MOTHER]))
    second["fullUrl"] = "urn:uuid:second-mother"
    bundle["entry"].append(second)
    (issue,) = await refused(gateway, bundle)
    assert issue["expression"] == [f"Bundle.entry[{len(bundle['entry']) - 1}].resource"]
    assert code_of(issue) == "ambiguous"


async def test_a_questionnaire_response_missing_a_required_answer(gateway: Gateway) -> None:
    bundle = example()
    drop_answer(bundle, "household.hukou_address")
    qr = entry_of(bundle, "QuestionnaireResponse")
    (issue,) = await refused(gateway, bundle)
    assert issue["expression"] == [
        f"Bundle.entry[{qr}].resource.repeat(item).where(linkId='household.hukou_address')"
    ]
    assert code_of(issue) == "missing"
    assert zh_of(issue) == "必须填写"


async def test_a_wrong_answer_points_at_the_answer(gateway: Gateway) -> None:
    bundle = example()
    answer(bundle, "insurance.region", {"valueString": "999999"})
    qr = entry_of(bundle, "QuestionnaireResponse")
    (issue,) = await refused(gateway, bundle)
    assert issue["expression"] == [
        f"Bundle.entry[{qr}].resource.item[1].item[0].answer[0].valueString"
    ]
    assert code_of(issue) == "unknown_region"


async def test_a_light_birth_weight_points_at_the_observation(gateway: Gateway) -> None:
    bundle = example()
    weight = next(
        i
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "8339-4"
    )
    bundle["entry"][weight]["resource"]["valueQuantity"]["value"] = 120
    (issue,) = await refused(gateway, bundle)
    assert issue["expression"] == [f"Bundle.entry[{weight}].resource.valueQuantity.value"]
    assert code_of(issue) == "out_of_range"


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ({"resourceType": "Patient", "name": [{"family": "王"}]}, "Bundle.resourceType"),
        ([1, 2, 3], "Bundle"),
    ],
)
async def test_a_resource_that_is_not_a_bundle_is_400(
    gateway: Gateway, body: object, expression: str
) -> None:
    (issue,) = await refused(gateway, body, 400)
    assert issue["expression"] == [expression]


async def test_an_entry_of_no_fhir_resource_type_is_400(gateway: Gateway) -> None:
    bundle = example()
    bundle["entry"][CHILD]["resource"]["resourceType"] = "Patiemt"
    (issue,) = await refused(gateway, bundle, 400)
    assert issue["expression"] == [f"Bundle.entry[{CHILD}].resource.resourceType"]
    assert issue["code"] == "structure"


async def test_a_resource_the_library_refuses_is_400_at_its_element(gateway: Gateway) -> None:
    bundle = example()
    bundle["entry"][CHILD]["resource"]["birthDate"] = "yesterday"
    (issue,) = await refused(gateway, bundle, 400)
    assert issue["expression"] == [f"Bundle.entry[{CHILD}].resource.birthDate"]
    assert code_of(issue) == "invalid_fhir"


async def test_not_json_is_400_with_an_outcome(gateway: Gateway) -> None:
    before = await gateway.count_rows()
    answer_ = await gateway.client.post(
        "/v1/births",
        content=b"<Bundle xmlns='http://hl7.org/fhir'/>",
        headers={**gateway.auth(CODE), "Content-Type": FHIR_JSON},
    )
    assert answer_.status_code == 400
    assert issues(answer_)[0]["code"] == "structure"
    assert await gateway.count_rows() == before


async def test_another_hospitals_bundle_is_403_at_its_code(gateway: Gateway) -> None:
    before = await gateway.count_rows()
    answer_ = await post(gateway, example(), who="H11010500009")
    assert answer_.status_code == 403
    (issue,) = issues(answer_)
    assert issue["expression"] == [f"Bundle.entry[{ORGANIZATION}].resource.identifier[0].value"]
    assert code_of(issue) == "not_your_hospital"
    assert await gateway.count_rows() == before


async def test_a_likely_duplicate_is_409_naming_the_birth(gateway: Gateway) -> None:
    first = await post(gateway, example())
    again = example()
    again["identifier"]["value"] = "ZY2026-0009999"
    answer_ = await post(gateway, again)
    assert answer_.status_code == 409
    (issue,) = issues(answer_)
    assert issue["code"] == "duplicate"
    assert code_of(issue) == "likely_duplicate"
    assert first.json()["birth_id"] in issue["diagnostics"]
    answer(again, "duplicate_of_checked", {"valueBoolean": True})
    assert (await post(gateway, again)).status_code == 202


def _observation(bundle: dict[str, Any], loinc: str) -> dict[str, Any]:
    return next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == loinc
    )


def test_measurements_in_other_ucum_units_are_converted() -> None:
    bundle = example()
    _observation(bundle, "8339-4")["valueQuantity"] = {"value": 3.35, "code": "kg"}
    _observation(bundle, "11884-4")["valueQuantity"] = {"value": 275, "code": "d"}
    _observation(bundle, "89269-5")["valueQuantity"] = {"value": 505, "code": "mm"}
    child = from_fhir(bundle)["child"]
    assert (child["weight_g"], child["gestational_weeks"], child["length_cm"]) == (3350, 39, 50.5)


async def test_a_unit_the_field_does_not_take_is_refused_at_the_unit(gateway: Gateway) -> None:
    bundle = example()
    _observation(bundle, "8339-4")["valueQuantity"] = {"value": 7.4, "code": "[lb_av]"}
    weight = next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"] is _observation(bundle, "8339-4")
    )
    (issue,) = await refused(gateway, bundle)
    assert issue["expression"] == [f"Bundle.entry[{weight}].resource.valueQuantity.code"]
    assert code_of(issue) == "not_allowed"


def test_the_hospital_code_is_the_identifier_of_birthlink_s_system_when_there_are_several() -> None:
    bundle = example()
    bundle["entry"][ORGANIZATION]["resource"]["identifier"].insert(
        0, {"system": "urn:oid:2.16.156.10011.0.9.1", "value": "PDY000123"}
    )
    assert from_fhir(bundle)["hospital"]["code"] == CODE


async def test_a_missing_measurement_points_where_it_is_looked_for(gateway: Gateway) -> None:
    bundle = example()
    bundle["entry"] = [
        e
        for e in bundle["entry"]
        if not (
            e["resource"]["resourceType"] == "Observation"
            and e["resource"]["code"]["coding"][0]["code"] == "8339-4"
        )
    ]
    (issue,) = await refused(gateway, bundle)
    assert issue["expression"] == [
        "Bundle.entry.resource.ofType(Observation).where(code.coding.code='8339-4')"
    ]
    assert issue["code"] == "required"


def test_a_mother_without_meta_is_still_found_as_the_other_patient() -> None:
    bundle = example()
    del bundle["entry"][MOTHER]["resource"]["meta"]
    assert from_fhir(bundle) == from_fhir(example())


def test_a_mother_named_only_as_a_related_person_of_the_child() -> None:
    bundle = example()
    mother = bundle["entry"][MOTHER]["resource"]
    mother["resourceType"] = "RelatedPerson"
    mother["patient"] = {"reference": bundle["entry"][CHILD]["fullUrl"]}
    mother["relationship"] = [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "NMTH"}
            ]
        }
    ]
    del mother["meta"]
    assert from_fhir(bundle) == from_fhir(example())


async def test_a_name_accepted_in_another_form_is_noted_at_its_place_in_the_bundle(
    gateway: Gateway,
) -> None:
    bundle = example()
    bundle["entry"][MOTHER]["resource"]["name"] = [{"use": "official", "text": "阿依古丽•买买提"}]
    answer_ = await post(gateway, bundle)
    assert answer_.status_code == 202, answer_.text
    (note,) = answer_.json()["notes"]
    assert note["pointer"] == "/mother/name"
    assert note["value"] == "阿依古丽·买买提"
    assert note["expression"] == f"Bundle.entry[{MOTHER}].resource.name[0].text"
