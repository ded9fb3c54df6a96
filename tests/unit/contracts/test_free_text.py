"""Free text in the birth event (issue 11, item 3): no control characters anywhere,
and names whose middle dot is spelt with a look-alike are normalised, and said so."""

# Full-width punctuation is what these tests are about.
# ruff: noqa: RUF001

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.birth import BirthEvent
from contracts.problems import (
    BirthEventInvalid,
    FieldProblem,
    normalisation_notes,
    parse_birth_event,
)
from tests.cases.birth_cases import _set_path, valid_event

# Every field a hospital types free text into, with a valid value to spoil.
FREE_TEXT = {
    "/hospital/name": "杭州市西湖区妇幼保健院",
    "/child/name": "王子涵",
    "/mother/name": "李静",
    "/father/name": "王强",
    "/household/hukou_address": "浙江省杭州市西湖区文三路100号2幢301室",
    "/contact/mailing_address/detail": "文三路100号2幢301室",
    "/contact/mailing_address/recipient": "李静",
    "/vaccinations/0/lot_number": "HB20240311A",
    "/vaccinations/0/site": "右上臂三角肌",
    "/vaccinations/1/site": "左上臂三角肌",
    "/hospital_record_id": "ZY2024-0001234",
}
# C0 (U+0000-001F), DEL and C1 (U+0080-009F): tabs and line breaks included.
CONTROLS = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]


def problems_of(body: dict[str, Any]) -> list[FieldProblem]:
    with pytest.raises(BirthEventInvalid) as caught:
        parse_birth_event(body)
    return caught.value.problems


def with_value(pointer: str, value: str) -> dict[str, Any]:
    event = valid_event()
    _set_path(event, pointer, value)
    return event


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("/vaccinations/0/site", "右上臂\u0007"),
        ("/vaccinations/0/lot_number", "HB\u00001"),
        ("/household/hukou_address", "浙江省杭州市\u0000西湖区文三路100号"),
        ("/hospital/name", "杭州市西湖区\u0000妇幼保健院"),
        ("/contact/mailing_address/detail", "文三路100号\u009b2幢"),
        ("/hospital/name", "杭州市\t西湖区妇幼保健院"),
        ("/household/hukou_address", "浙江省杭州市\r\n西湖区"),
    ],
)
def test_the_reported_control_characters_are_refused_at_their_field(
    pointer: str, value: str
) -> None:
    problems = problems_of(with_value(pointer, value))

    assert [(p.pointer, p.code) for p in problems] == [(pointer, "invalid_characters")]
    assert problems[0].message == "must not contain control characters"
    assert problems[0].message_zh == "不能包含控制字符"


@given(
    pointer=st.sampled_from(sorted(FREE_TEXT)),
    control=st.sampled_from(CONTROLS),
    at=st.integers(min_value=0, max_value=50),
)
def test_any_control_character_anywhere_in_any_free_text_is_refused(
    pointer: str, control: str, at: int
) -> None:
    text = FREE_TEXT[pointer]
    spoilt = text[: at % (len(text) + 1)] + control + text[at % (len(text) + 1) :]

    problems = problems_of(with_value(pointer, spoilt))

    assert (pointer, "invalid_characters") in [(p.pointer, p.code) for p in problems]


def test_a_stored_event_with_a_control_character_still_loads() -> None:
    # Accepted before the rule; re-reading stored events must not fail (time_rules off).
    stored = with_value("/vaccinations/0/site", "右上臂\u0007")

    event = BirthEvent.model_validate(stored, context={"time_rules": False})

    assert event.vaccinations[0].site == "右上臂\u0007"


def test_surrounding_spaces_are_still_trimmed_and_inner_spaces_kept() -> None:
    event = parse_birth_event(
        with_value("/household/hukou_address", "  浙江省杭州市西湖区 文三路100号  ")
    )

    assert event.household.hukou_address == "浙江省杭州市西湖区 文三路100号"


@pytest.mark.parametrize(
    ("posted", "accepted"),
    [
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("约翰.史密斯", "约翰·史密斯"),
        ("约翰．史密斯", "约翰·史密斯"),
        ("阿依古丽‧买买提", "阿依古丽·买买提"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("John F. Kennedy", "John F. Kennedy"),
        ("Jean-Luc O'Neil", "Jean-Luc O'Neil"),
    ],
)
def test_names_write_the_middle_dot_one_way(posted: str, accepted: str) -> None:
    event = parse_birth_event(
        valid_event(
            child__name=posted, mother__name=posted, contact__mailing_address__recipient=posted
        )
    )

    assert event.child.name == event.mother.name == accepted
    assert event.contact.mailing_address.recipient == accepted


def test_a_normalised_name_is_noted_at_its_pointer_with_the_value_sent_on() -> None:
    data = valid_event(child__name="王•小明", father__name="约翰.史密斯")

    notes = normalisation_notes(data, parse_birth_event(data))

    assert [(n.pointer, n.code, n.value) for n in notes] == [
        ("/child/name", "middle_dot_normalised", "王·小明"),
        ("/father/name", "middle_dot_normalised", "约翰·史密斯"),
    ]
    assert all("·" in n.message and "·" in n.message_zh for n in notes)
    assert normalisation_notes(valid_event(), parse_birth_event(valid_event())) == []


@pytest.mark.parametrize(
    "name",
    [
        "王,小明",
        "王、小明",
        "王_小明",
        "王/小明",
        "王（小明）",
        "王@小明",
        "王!",
        "王～明",
        "王；明",
    ],
)
def test_other_punctuation_in_a_name_is_refused(name: str) -> None:
    problems = problems_of(valid_event(child__name=name))

    assert [(p.pointer, p.code) for p in problems] == [("/child/name", "invalid_characters")]
