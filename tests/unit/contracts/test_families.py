"""Families the contract must take, and the one hukou declarant it must not (issue 11):
Hong Kong, Macao and Taiwan residents, foreign parents, who the hukou goes with."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.birth import BirthEvent
from contracts.problems import BirthEventInvalid, FieldProblem, parse_birth_event
from tests.cases.birth_cases import make_resident_id, valid_event

NOW = datetime.now(UTC)
# A parent born 30 years before the birth (well inside the plausible ages).
PARENT_BORN = date(NOW.year - 30, 3, 14)
RUSSIAN = {"id_type": "passport", "id_number": "751234567", "nationality": "RUS"}


def with_russian_mother(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with a mother holding a Russian passport (no ethnicity)."""
    body["mother"].update(RUSSIAN)
    body["mother"].pop("ethnicity")
    return body


def problems_of(body: dict[str, Any]) -> list[FieldProblem]:
    with pytest.raises(BirthEventInvalid) as caught:
        parse_birth_event(body)
    return caught.value.problems


def permit_holder(prefix: str, sex: str) -> dict[str, Any]:
    """A Hong Kong, Macao or Taiwan resident with a residence permit: no ethnicity."""
    return {
        "id_type": "resident_id",
        "id_number": make_resident_id(prefix, PARENT_BORN, 20, sex=sex),
        "nationality": "CHN",
    }


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_a_residence_permit_of_hong_kong_macao_or_taiwan_is_accepted(prefix: str) -> None:
    mother = {**valid_event()["mother"], **permit_holder(prefix, "2"), "ethnicity": "01"}

    event = parse_birth_event(valid_event(mother=mother))

    assert event.mother.id_number[:6] == prefix


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_a_permit_holder_of_nationality_chn_needs_no_ethnicity(prefix: str) -> None:
    mother = {**valid_event()["mother"], **permit_holder(prefix, "2")}
    mother.pop("ethnicity", None)

    event = parse_birth_event(valid_event(mother=mother))

    assert event.mother.nationality == "CHN"
    assert event.mother.ethnicity is None


@pytest.mark.parametrize(
    ("id_type", "number"), [("hk_macao_permit", "H12345678"), ("taiwan_permit", "12345678")]
)
def test_a_father_with_a_hk_macao_or_taiwan_permit_needs_no_ethnicity(
    id_type: str, number: str
) -> None:
    event = parse_birth_event(
        valid_event(
            household__register_with="mother",
            father__id_type=id_type,
            father__id_number=number,
            father__ethnicity=...,
        )
    )

    assert event.father is not None
    assert event.father.ethnicity is None


def test_a_mainland_citizen_still_needs_an_ethnicity() -> None:
    problems = problems_of(valid_event(mother__ethnicity=...))

    assert [(p.pointer, p.code) for p in problems] == [("/mother/ethnicity", "ethnicity_required")]


def test_an_unassigned_permit_like_prefix_is_still_an_unknown_region() -> None:
    mother = {**valid_event()["mother"], **permit_holder("840000", "2"), "ethnicity": "01"}

    problems = problems_of(valid_event(mother=mother))

    assert [(p.pointer, p.code) for p in problems] == [("/mother/id_number", "unknown_region")]


def test_a_russian_mother_cannot_be_the_hukou_declarant_beside_a_chinese_father() -> None:
    body = with_russian_mother(valid_event(household__register_with="mother"))

    problems = problems_of(body)

    assert [(p.pointer, p.code) for p in problems] == [
        ("/household/register_with", "citizen_required")
    ]
    assert "Chinese citizen" in problems[0].message
    assert "中国公民" in problems[0].message_zh


def test_a_foreign_father_cannot_be_the_hukou_declarant_beside_a_chinese_mother() -> None:
    body = valid_event(
        household__register_with="father",
        father__id_type="passport",
        father__id_number="E12345678",
        father__nationality="USA",
        father__ethnicity=...,
        father__name="John O'Neil",
    )

    problems = problems_of(body)

    assert [(p.pointer, p.code) for p in problems] == [
        ("/household/register_with", "citizen_required")
    ]


def test_a_russian_mother_with_the_hukou_going_with_the_chinese_father_is_accepted() -> None:
    body = with_russian_mother(valid_event(household__register_with="father"))

    event = parse_birth_event(body)

    assert event.household.register_with == "father"


def test_a_hong_kong_declarant_of_nationality_chn_is_accepted() -> None:
    mother = {**valid_event()["mother"], **permit_holder("810000", "2")}
    mother.pop("ethnicity", None)

    event = parse_birth_event(valid_event(mother=mother, household__register_with="mother"))

    assert event.household.register_with == "mother"


def test_when_neither_parent_is_chinese_the_declarant_is_not_the_contracts_error() -> None:
    # Household registration is then not applicable (the engine's call), not a 422.
    body = with_russian_mother(
        valid_event(household__register_with="mother", father=..., consent__father_agreed_at=...)
    )

    event = parse_birth_event(body)

    assert event.mother.nationality == "RUS"


def test_a_stored_event_with_a_foreign_declarant_still_loads() -> None:
    # Accepted before the rule; re-reading stored events must not fail (time_rules off).
    stored = with_russian_mother(valid_event(household__register_with="mother"))

    event = BirthEvent.model_validate(stored, context={"time_rules": False})

    assert event.household.register_with == "mother"
