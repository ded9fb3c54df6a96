"""The birth event contract: what is accepted, what is refused, and how refusals read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from birthlink.samples import resident_id
from contracts.birth import SERVICES, BirthEvent, Mother, Parent
from contracts.problems import (
    PROBLEM_CODES,
    BirthEventInvalid,
    FieldProblem,
    birth_event_json_schema,
    json_pointer,
    parse_birth_event,
)
from tests.cases.birth_cases import (
    CST,
    INVALID_CASES,
    REGIONS,
    InvalidCase,
    make_resident_id,
    small_jpeg_base64,
    unique_event,
    valid_event,
)


def problems_of(body: object, *, now: datetime | None = None) -> list[FieldProblem]:
    with pytest.raises(BirthEventInvalid) as caught:
        parse_birth_event(body, now=now)
    return caught.value.problems


# -- valid events -----------------------------------------------------------------------


def test_the_sample_event_is_accepted_with_its_data_intact() -> None:
    data = valid_event()

    event = parse_birth_event(data)

    assert event.child.name == "王子涵"
    assert event.father is not None
    assert event.father.id_number == data["father"]["id_number"]
    assert [d.vaccine for d in event.vaccinations] == ["HepB", "BCG"]
    assert event.services == list(SERVICES)
    assert event.child.born_at.utcoffset() == timedelta(hours=8)
    assert event.natural_key == ("47000001433010617A2101", "ZY2024-0001234")


def test_an_accepted_event_dumped_to_json_parses_again_to_the_same_event() -> None:
    event = parse_birth_event(valid_event())

    again = parse_birth_event(json.loads(event.model_dump_json()))

    assert again == event


def test_the_mother_is_a_parent_whose_phone_is_required() -> None:
    event = parse_birth_event(valid_event())

    assert isinstance(event.mother, Mother)
    assert isinstance(event.mother, Parent)
    assert BirthEvent.model_fields["mother"].annotation is Mother


def test_optional_parts_may_be_left_out() -> None:
    data = valid_event(
        father=..., consent__father_agreed_at=..., household__register_with="mother",
        household__household_number=..., vaccinations=[], services=..., duplicate_of_checked=...,
    )

    event = parse_birth_event(data)

    assert event.father is None
    assert event.services == list(SERVICES)
    assert event.duplicate_of_checked is False
    assert event.vaccinations == []


def test_a_foreign_father_with_a_passport_needs_no_ethnicity() -> None:
    data = valid_event(
        father__id_type="passport", father__id_number="E12345678", father__nationality="USA",
        father__ethnicity=..., father__phone=..., father__name="John O'Neil",
        household__register_with="mother",  # the hukou goes with a Chinese citizen
    )

    event = parse_birth_event(data)

    assert event.father is not None
    assert event.father.ethnicity is None


def test_a_resident_id_ending_in_a_lowercase_x_is_accepted_and_stored_in_capitals() -> None:
    born = parse_birth_event(valid_event()).child.born_at.date()
    number = next(
        make_resident_id("330106", born.replace(year=born.year - 30), seq, sex="2")
        for seq in range(0, 1000, 2)
        if make_resident_id("330106", born.replace(year=born.year - 30), seq).endswith("X")
    )

    event = parse_birth_event(valid_event(mother__id_number=number.lower()))

    assert event.mother.id_number == number


def test_a_parent_with_an_id_from_an_abolished_district_is_accepted() -> None:
    # 110103 崇文区 was merged away in 2010; IDs issued there stay valid.
    born = datetime.now(UTC).date()
    number = make_resident_id("110103", date(born.year - 30, 6, 1), 128)

    event = parse_birth_event(valid_event(mother__id_number=number))

    assert event.mother.id_number.startswith("110103")


def test_names_in_other_scripts_and_with_dots_are_accepted() -> None:
    for name in ["阿依古丽·买买提", "Anna-Maria O'Neil", "Nguyễn Văn An", "Jr. Smith", "أحمد"]:
        assert parse_birth_event(valid_event(child__name=name)).child.name == name


def test_surrounding_spaces_are_stripped_from_names() -> None:
    assert parse_birth_event(valid_event(child__name="  王子涵 ")).child.name == "王子涵"


def test_a_small_jpeg_photo_is_accepted() -> None:
    photo = small_jpeg_base64(2000)

    event = parse_birth_event(valid_event(card_delivery={"method": "collect", "photo": photo}))

    assert event.card_delivery.photo == photo


def test_a_birth_reported_late_is_accepted_until_the_child_is_grown_up() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    year_ago = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    grown_up = datetime(2007, 3, 1, 12, 0, tzinfo=UTC)

    def at(born: datetime) -> dict[str, Any]:
        data = valid_event(now=now, vaccinations=[])
        data["child"]["born_at"] = born.isoformat()
        for parent in ("mother", "father"):  # parents of an age to have had the child
            data[parent]["id_number"] = resident_id("330106", date(1980, 5, 1), 12)
        return data

    parse_birth_event(at(year_ago - timedelta(days=30)), now=now)  # late: accepted
    parse_birth_event(at(grown_up + timedelta(hours=1)), now=now)
    problems = problems_of(at(grown_up - timedelta(hours=1)), now=now)
    assert [(p.pointer, p.code) for p in problems] == [("/child/born_at", "too_old")]


def test_now_comes_from_the_validation_context() -> None:
    data = valid_event()
    earlier = datetime.now(UTC) - timedelta(days=3)

    with pytest.raises(ValidationError) as caught:
        BirthEvent.model_validate(data, context={"now": earlier})

    assert ("child", "born_at") in [e["loc"] for e in caught.value.errors()]
    BirthEvent.model_validate(data)  # without a context: the real now


def test_time_rules_can_be_switched_off_for_stored_events() -> None:
    data = valid_event(now=datetime.now(UTC) - timedelta(days=800))

    event = BirthEvent.model_validate(data, context={"time_rules": False})

    assert event.child.born_at < datetime.now(UTC) - timedelta(days=700)


def test_a_hospital_clock_a_minute_ahead_is_tolerated() -> None:
    now = datetime.now(UTC)
    data = valid_event(now=now)
    data["consent"]["mother_agreed_at"] = (now + timedelta(minutes=1)).isoformat()

    parse_birth_event(data, now=now)


def test_unique_events_are_valid_and_differ_in_every_identifying_field() -> None:
    events = [unique_event() for _ in range(50)]

    for data in events:
        parse_birth_event(data)
    keys: list[Callable[[dict[str, Any]], object]] = [
        lambda e: e["hospital_record_id"],
        lambda e: e["mother"]["id_number"],
        lambda e: e["child"]["name"],
        lambda e: e["child"]["born_at"],
    ]
    for key in keys:
        assert len({key(e) for e in events}) == 50


def test_a_seeded_unique_event_is_repeatable() -> None:
    now = datetime.now(UTC)

    assert unique_event(7, now=now) == unique_event(7, now=now)
    assert unique_event(7, now=now) != unique_event(8, now=now)
    parse_birth_event(unique_event(123_456, now=now), now=now)


# -- refusals ---------------------------------------------------------------------------


def test_every_invalid_case_has_a_unique_id_and_a_documented_code() -> None:
    assert len({case.id for case in INVALID_CASES}) == len(INVALID_CASES)
    assert {case.code for case in INVALID_CASES} <= PROBLEM_CODES


@pytest.mark.parametrize("case", INVALID_CASES, ids=[c.id for c in INVALID_CASES])
def test_each_broken_rule_is_named_by_its_pointer_and_code(case: InvalidCase) -> None:
    problems = problems_of(case.build())

    assert [(p.pointer, p.code) for p in problems] == [(case.pointer, case.code)]
    assert all(p.message.strip() and p.message_zh.strip() for p in problems)


def test_several_wrong_fields_are_all_named_at_once() -> None:
    data = valid_event(
        child__name="王2", child__weight_g=10, mother__phone="123", services=["x"],
        vaccinations=[{"vaccine": "HepB"}], card_delivery__method="fly", surprise=True,
    )
    data["child"]["plurality"], data["child"]["birth_order"] = 2, 3
    data["consent"].pop("father_agreed_at")

    problems = problems_of(data)

    assert {(p.pointer, p.code) for p in problems} == {
        ("/child/name", "invalid_characters"),
        ("/child/weight_g", "out_of_range"),
        ("/child/birth_order", "exceeds_plurality"),
        ("/mother/phone", "invalid_format"),
        ("/vaccinations/0/dose", "missing"),
        ("/vaccinations/0/lot_number", "missing"),
        ("/vaccinations/0/given_at", "missing"),
        ("/services/0", "not_allowed"),
        ("/consent/father_agreed_at", "consent_required"),
        ("/card_delivery/method", "not_allowed"),
        ("/surprise", "extra_forbidden"),
    }


def test_cross_field_rules_are_checked_even_when_other_fields_are_wrong() -> None:
    data = valid_event(hospital__code="x", insurance__scheme="employee")
    data["vaccinations"][1]["given_at"] = "2000-01-01T00:00:00+08:00"

    problems = problems_of(data)

    assert ("/vaccinations/1/given_at", "before_birth") in [(p.pointer, p.code) for p in problems]


def test_a_wrong_father_does_not_make_the_household_complain_about_a_missing_father() -> None:
    problems = problems_of(valid_event(father__name="王1"))

    assert [(p.pointer, p.code) for p in problems] == [("/father/name", "invalid_characters")]


def test_a_wrong_birth_time_skips_the_rules_that_depend_on_it() -> None:
    data = valid_event(child__born_at="soon")

    assert [p.pointer for p in problems_of(data)] == ["/child/born_at"]


def test_the_refusal_text_names_fields_but_never_their_values() -> None:
    data = valid_event(mother__id_number="33010619951314128X")

    with pytest.raises(BirthEventInvalid) as caught:
        parse_birth_event(data)

    assert "/mother/id_number" in str(caught.value)
    assert "33010619951314128X" not in str(caught.value)
    assert "33010619951314128X" not in json.dumps([p.model_dump() for p in caught.value.problems])


def test_json_pointers_escape_slashes_and_tildes() -> None:
    assert json_pointer(()) == ""
    assert json_pointer(("vaccinations", 0, "given_at")) == "/vaccinations/0/given_at"
    assert json_pointer(("a/b", "c~d")) == "/a~1b/c~0d"


# -- generated events -------------------------------------------------------------------

NOW = datetime.now(UTC)
_OFFSETS = [timezone(timedelta(hours=8)), UTC, timezone(timedelta(hours=-5)),
            timezone(timedelta(hours=5, minutes=30))]
_SURNAMES = "王李张刘陈杨黄赵吴周欧阳"
_GIVEN = "子涵浩宇欣怡梓轩诗雨俊杰思远明一诺佳航可馨"
_OTHER_NAMES = ["Anna", "O'Neil", "Jean-Luc", "Mary Ann", "Ayşe", "Дмитрий", "阿依古丽·买买提"]
_ETHNICITIES = [f"{n:02d}" for n in range(1, 57)] + ["97", "98"]

names = st.one_of(
    st.builds(lambda s, g: s + g, st.sampled_from(_SURNAMES),
              st.text(alphabet=_GIVEN, min_size=1, max_size=3)),
    st.sampled_from(_OTHER_NAMES),
)
regions = st.sampled_from(sorted(REGIONS))


@st.composite
def parents(draw: st.DrawFn, born: date, *, sex: str) -> dict[str, Any]:
    age = draw(st.integers(16, 50))
    birth = date(born.year - age, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    if birth > date(born.year - age, born.month, min(born.day, 28)):
        birth = date(born.year - age, 1, 1)
    foreign = draw(st.booleans()) if sex == "1" else False
    parent: dict[str, Any] = {"name": draw(names)}
    if foreign:
        parent |= {
            "id_type": draw(st.sampled_from(["passport", "foreign_permanent_id"])),
            "id_number": draw(st.text(alphabet="ABCDEFGHJK0123456789()-", min_size=5,
                                      max_size=30)),
            "nationality": draw(st.sampled_from(["USA", "GBR", "JPN", "KOR", "FRA"])),
        }
    else:
        parent |= {
            "id_type": "resident_id",
            "id_number": make_resident_id(draw(regions), birth, draw(st.integers(0, 999)),
                                          sex=sex),
            "nationality": "CHN",
            "ethnicity": draw(st.sampled_from(_ETHNICITIES)),
        }
    if sex == "2" or draw(st.booleans()):
        digits = draw(st.integers(0, 10**9 - 1))
        parent["phone"] = f"1{draw(st.integers(3, 9))}{digits:09d}"
    return parent


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    born_at = (NOW - timedelta(minutes=draw(st.integers(120, 360 * 24 * 60)))).astimezone(
        draw(st.sampled_from(_OFFSETS))).replace(microsecond=0)
    plurality = draw(st.integers(1, 8))
    data = valid_event(now=NOW)
    data["child"] = {
        "name": draw(names),
        "sex": draw(st.sampled_from(["1", "2", "9"])),
        "born_at": born_at.isoformat(),
        "birthplace_region": draw(regions),
        "gestational_weeks": draw(st.integers(20, 45)),
        "weight_g": draw(st.integers(300, 7000)),
        "length_cm": draw(st.one_of(st.integers(20, 70),
                                    st.floats(20, 70, allow_nan=False).map(lambda x: round(x, 1)))),
        "plurality": plurality,
        "birth_order": draw(st.integers(1, plurality)),
    }
    data["mother"] = draw(parents(born_at.date(), sex="2"))
    has_father = draw(st.booleans())
    data["father"] = draw(parents(born_at.date(), sex="1")) if has_father else None
    minute = timedelta(minutes=1)
    agreed = born_at + draw(st.integers(1, 60)) * minute
    data["consent"] = {"mother_agreed_at": agreed.isoformat()}
    if has_father:
        data["consent"]["father_agreed_at"] = (born_at + 61 * minute).isoformat()
    # The hukou goes with a Chinese citizen: the mother always is, a father may not be.
    father_may_declare = has_father and data["father"]["nationality"] == "CHN"
    data["household"] = {
        "register_with": draw(st.sampled_from(["mother", "father"]))
        if father_may_declare else "mother",
        "hukou_region": draw(regions),
        "hukou_address": draw(st.sampled_from(["文三路100号", "朝阳路8号院3号楼", "Room 5"])),
    }
    if draw(st.booleans()):
        data["household"]["household_number"] = draw(
            st.text(alphabet="0123456789AB", min_size=1, max_size=20))
    data["insurance"]["region"] = draw(regions)
    data["contact"] = {
        "phone": data["mother"]["phone"],
        "mailing_address": {"region": draw(regions), "detail": "文三路100号",
                            "recipient": data["mother"]["name"]},
    }
    doses = draw(st.lists(st.sampled_from(["HepB", "BCG"]), unique=True, max_size=2))
    data["vaccinations"] = [
        {"vaccine": v, "dose": 1, "lot_number": f"LOT{i}",
         "given_at": (born_at + draw(st.integers(0, 119)) * minute).isoformat()}
        for i, v in enumerate(doses)
    ]
    data["services"] = draw(st.lists(st.sampled_from(list(SERVICES)), min_size=1, unique=True))
    data["card_delivery"] = {"method": draw(st.sampled_from(["mail", "collect"]))}
    if draw(st.booleans()):
        data["card_delivery"]["photo"] = small_jpeg_base64(draw(st.integers(4, 30_000)))
    data["duplicate_of_checked"] = draw(st.booleans())
    return data


_FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(events())
def test_generated_valid_events_are_all_accepted(data: dict[str, Any]) -> None:
    event = parse_birth_event(data, now=NOW)

    assert event.child.born_at == datetime.fromisoformat(data["child"]["born_at"])
    assert (event.father is None) == (data["father"] is None)


@_FAST
@given(events(), st.sampled_from([c for c in INVALID_CASES if c.pointer]))
def test_breaking_one_rule_of_a_generated_event_names_that_field(
    data: dict[str, Any], case: InvalidCase
) -> None:
    problems = problems_of(case.build(data), now=NOW)

    assert (case.pointer, case.code) in [(p.pointer, p.code) for p in problems]


# -- the published schema ---------------------------------------------------------------


def test_the_json_schema_describes_every_top_level_field() -> None:
    schema = birth_event_json_schema()

    assert schema["$id"].endswith("/v1/schemas/birth-event.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"]
    assert schema["type"] == "object"
    assert set(schema["properties"]) == set(BirthEvent.model_fields)
    assert schema["additionalProperties"] is False
    assert "father" not in schema["required"]
    assert {"schema_version", "child", "mother", "consent"} <= set(schema["required"])
    json.dumps(schema)  # serialisable


def test_every_reference_in_the_json_schema_resolves() -> None:
    schema = birth_event_json_schema()
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)

    assert refs
    for ref in refs:
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in schema["$defs"]


def test_the_json_schema_is_a_fresh_copy_and_its_id_can_be_set() -> None:
    schema = birth_event_json_schema(schema_id="https://api.example.cn/v1/schemas/birth-event.json")
    schema["properties"].clear()

    assert schema["$id"] == "https://api.example.cn/v1/schemas/birth-event.json"
    assert birth_event_json_schema()["properties"]


def test_the_schema_declares_the_mother_phone_required_and_the_father_phone_optional() -> None:
    defs = birth_event_json_schema()["$defs"]

    assert "phone" in defs["Mother"]["required"]
    assert "phone" not in defs["Parent"]["required"]


def test_birth_times_in_cst_and_utc_are_the_same_instant() -> None:
    now = datetime.now(UTC)
    data = valid_event(now=now)
    utc_data = valid_event(now=now)
    utc_data["child"]["born_at"] = (
        datetime.fromisoformat(data["child"]["born_at"]).astimezone(UTC).isoformat()
    )

    assert parse_birth_event(data).child.born_at == parse_birth_event(utc_data).child.born_at
    assert datetime.fromisoformat(data["child"]["born_at"]).tzinfo == CST
