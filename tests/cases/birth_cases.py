"""Birth events for tests: a realistic valid one, unique ones, and one broken case per rule.

- :func:`valid_event` is a JSON-ready dict that ``parse_birth_event`` accepts: a boy
  born two hours before "now" in 杭州市西湖区, both parents with resident IDs, two
  birth doses, mail delivery, all five services.
- :func:`unique_event` gives a different valid event on every call (hospital record
  id, mother, child name and birth time all differ), for concurrent posts.
- :data:`INVALID_CASES` breaks one rule each; ``case.build()`` returns the body and
  the refusal must name ``case.pointer`` with ``case.code``. The mutations work on any
  valid event (they add a father or a dose first when they need one), so property
  tests can apply them to generated events too.
"""

from __future__ import annotations

import base64
import copy
import itertools
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, NamedTuple

from stdnum.cn import ric

__all__ = [
    "CST",
    "INVALID_CASES",
    "REGIONS",
    "InvalidCase",
    "make_resident_id",
    "small_jpeg_base64",
    "unique_event",
    "valid_event",
]

CST = timezone(timedelta(hours=8))
# Current GB/T 2260 codes used in the samples.
REGIONS: dict[str, str] = {
    "330106": "浙江省杭州市西湖区",
    "330102": "浙江省杭州市上城区",
    "330105": "浙江省杭州市拱墅区",
    "110105": "北京市朝阳区",
    "440305": "广东省深圳市南山区",
    "310104": "上海市徐汇区",
    "510107": "四川省成都市武侯区",
}
SERVICES = [
    "birth_certificate",
    "vaccination_record",
    "household_registration",
    "medical_insurance",
    "social_security_card",
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
# Distinct characters: unique_event spells its index in them.
_GIVEN = "".join(dict.fromkeys("子涵浩宇欣怡梓轩诗雨俊杰思远桐明一诺佳航可馨嘉懿晨曦若溪沐阳安然"))


def make_resident_id(
    region: str,
    birth_date: date,
    seq: int = 1,
    *,
    sex: str | None = None,
    check_digit: str | None = None,
) -> str:
    """An 18-character resident ID: region, birth date, 3-digit sequence, check digit.

    ``sex`` ("1" male, "2" female) bumps the sequence to the right parity (odd male).
    ``check_digit`` replaces the computed GB 11643 digit (to build a wrong one).
    """
    seq %= 1000
    if sex in ("1", "2") and seq % 2 != (1 if sex == "1" else 0):
        seq = (seq + 1) % 1000
    body = f"{region}{birth_date:%Y%m%d}{seq:03d}"
    return body + (check_digit if check_digit is not None else ric.calc_check_digit(body + "0"))


def small_jpeg_base64(size: int = 64) -> str:
    """A base64 string that decodes to ``size`` bytes starting with the JPEG marker."""
    raw = b"\xff\xd8\xff\xe0" + bytes(max(size - 6, 0)) + b"\xff\xd9"
    return base64.b64encode(raw).decode("ascii")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _set_path(event: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a JSON-pointer-like path (``/child/name``, ``/vaccinations/0``)."""
    parts = [int(p) if p.isdigit() else p for p in path.strip("/").split("/")]
    target: Any = event
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = value


def _delete_path(event: dict[str, Any], path: str) -> None:
    parts = [int(p) if p.isdigit() else p for p in path.strip("/").split("/")]
    target: Any = event
    for part in parts[:-1]:
        target = target[part]
    del target[parts[-1]]


def _father(born_at: datetime, seq: int = 37) -> dict[str, Any]:
    birth = _years_before(born_at.date(), 32) - timedelta(days=101)
    return {
        "name": "王强",
        "id_type": "resident_id",
        "id_number": make_resident_id("330102", birth, seq, sex="1"),
        "nationality": "CHN",
        "ethnicity": "01",
        "phone": "13998765432",
    }


def valid_event(*, now: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A realistic valid birth event, born two hours before ``now`` (default: real now).

    ``overrides`` replace top-level fields; ``a__b=value`` sets a nested field
    (``child__sex="2"``, ``card_delivery__method="collect"``). A value of ``...``
    deletes the field.
    """
    moment = now if now is not None else datetime.now(UTC)
    born_at = (moment - timedelta(hours=2)).astimezone(CST).replace(microsecond=0)
    mother_birth = _years_before(born_at.date(), 30) - timedelta(days=57)
    event: dict[str, Any] = {
        "schema_version": "1",
        "hospital": {"code": "47000001433010617A2101", "name": "杭州市西湖区妇幼保健院"},
        "hospital_record_id": "ZY2024-0001234",
        "child": {
            "name": "王子涵",
            "sex": "1",
            "born_at": _iso(born_at),
            "birthplace_region": "330106",
            "gestational_weeks": 39,
            "weight_g": 3350,
            "length_cm": 50.5,
            "plurality": 1,
            "birth_order": 1,
        },
        "mother": {
            "name": "李静",
            "id_type": "resident_id",
            "id_number": make_resident_id("330106", mother_birth, 128, sex="2"),
            "nationality": "CHN",
            "ethnicity": "01",
            "phone": "13812345678",
        },
        "father": _father(born_at),
        "household": {
            "register_with": "father",
            "hukou_region": "330106",
            "hukou_address": "浙江省杭州市西湖区文三路100号2幢301室",
            "household_number": "330106012345",
        },
        "insurance": {"region": "330106", "scheme": "resident"},
        "contact": {
            "phone": "13812345678",
            "mailing_address": {
                "region": "330106",
                "detail": "文三路100号2幢301室",
                "recipient": "李静",
            },
        },
        "vaccinations": [
            {
                "vaccine": "HepB",
                "dose": 1,
                "lot_number": "HB20240311A",
                "given_at": _iso(born_at + timedelta(minutes=50)),
                "site": "右上臂三角肌",
            },
            {
                "vaccine": "BCG",
                "dose": 1,
                "lot_number": "BCG2024-0415",
                "given_at": _iso(born_at + timedelta(minutes=80)),
                "site": "左上臂三角肌",
            },
        ],
        "services": list(SERVICES),
        "consent": {
            "mother_agreed_at": _iso(born_at + timedelta(minutes=95)),
            "father_agreed_at": _iso(born_at + timedelta(minutes=97)),
        },
        "card_delivery": {"method": "mail"},
        "duplicate_of_checked": False,
    }
    for key, value in overrides.items():
        path = "/" + key.replace("__", "/")
        if value is ...:
            _delete_path(event, path)
        else:
            _set_path(event, path, copy.deepcopy(value))
    return event


_COUNTER = itertools.count()
# Per process: unseeded events from two test runs against one database differ too.
_SALT = random.SystemRandom().randrange(1_000_000)


def unique_event(n: int | None = None, *, now: datetime | None = None) -> dict[str, Any]:
    """A valid event that differs from every other one made by this function.

    With ``n`` the event is repeatable (same ``n``, same data apart from times relative
    to ``now``); without, a process-wide counter makes each call new. Hospital record
    id, mother (ID number, name), child name and birth time differ between events.
    """
    index = _SALT * 1000 + next(_COUNTER) if n is None else n
    rng = random.Random(index)
    moment = now if now is not None else datetime.now(UTC)
    # Distinct birth times: one second apart, wrapping after ~23 days.
    born_at = (moment - timedelta(hours=2, seconds=index % 2_000_000)).astimezone(CST)
    born_at = born_at.replace(microsecond=0)
    event = valid_event(now=moment)
    _retime(event, born_at)

    given = _GIVEN[index % len(_GIVEN)] + _GIVEN[(index // len(_GIVEN)) % len(_GIVEN)]
    if index >= len(_GIVEN) ** 2:
        given += _GIVEN[(index // len(_GIVEN) ** 2) % len(_GIVEN)]
    surname = rng.choice(_SURNAMES)
    sex = rng.choice(["1", "2"])
    # Mother IDs: 500 female sequence numbers per birth date, dates a day apart.
    mother_birth = _years_before(born_at.date(), 25) - timedelta(days=(index // 500) % 5000)
    event["hospital_record_id"] = f"ZY{index:012d}-{rng.randrange(16**6):06x}"
    event["child"].update(
        name=surname + given,
        sex=sex,
        weight_g=rng.randint(2500, 4200),
        gestational_weeks=rng.randint(36, 41),
        length_cm=round(rng.uniform(46.0, 54.0), 1),
        birthplace_region=rng.choice(list(REGIONS)),
    )
    event["mother"].update(
        name=rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
        id_number=make_resident_id(rng.choice(list(REGIONS)), mother_birth, (index % 500) * 2),
        phone=f"13{rng.randrange(10**9):09d}",
    )
    event["father"]["name"] = surname + rng.choice(_GIVEN)
    event["contact"]["phone"] = event["mother"]["phone"]
    event["contact"]["mailing_address"]["recipient"] = event["mother"]["name"]
    return event


def _retime(event: dict[str, Any], born_at: datetime) -> None:
    """Move the birth to ``born_at``, and doses and consents with it."""
    event["child"]["born_at"] = _iso(born_at)
    for offset, dose in enumerate(event.get("vaccinations", [])):
        dose["given_at"] = _iso(born_at + timedelta(minutes=50 + 30 * offset))
    event["consent"]["mother_agreed_at"] = _iso(born_at + timedelta(minutes=95))
    if event["consent"].get("father_agreed_at") is not None:
        event["consent"]["father_agreed_at"] = _iso(born_at + timedelta(minutes=97))


# -- invalid cases ----------------------------------------------------------------------


Mutation = Callable[[dict[str, Any]], object]


class InvalidCase(NamedTuple):
    """One broken rule: ``mutate`` breaks it in place (or returns a whole new body)."""

    id: str
    mutate: Mutation
    pointer: str
    code: str

    def build(self, event: dict[str, Any] | None = None) -> object:
        """The request body: ``event`` (default: a fresh valid event) with the rule broken."""
        body = copy.deepcopy(event) if event is not None else valid_event()
        replaced = self.mutate(body)
        return body if replaced is None else replaced


def _born_at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["child"]["born_at"])


def _ensure_father(event: dict[str, Any]) -> None:
    if event.get("father") is None:
        born_at = _born_at(event)
        event["father"] = _father(born_at)
        event["consent"]["father_agreed_at"] = _iso(born_at + timedelta(minutes=97))


def _ensure_dose(event: dict[str, Any]) -> None:
    if not event.get("vaccinations"):
        event["vaccinations"] = [
            {
                "vaccine": "HepB",
                "dose": 1,
                "lot_number": "HB20240311A",
                "given_at": _iso(_born_at(event) + timedelta(minutes=1)),
            }
        ]


def _prepare(event: dict[str, Any], path: str) -> None:
    if path.startswith("/father"):
        _ensure_father(event)
    if path.startswith("/vaccinations/0"):
        _ensure_dose(event)


def _set(path: str, value: Any) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        _prepare(event, path)
        _set_path(event, path, copy.deepcopy(value))

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        _prepare(event, path)
        _delete_path(event, path)

    return mutate


def _parent_id(parent: str, years: int, *, region: str = "330106", **kwargs: Any) -> Mutation:
    """Give ``parent`` a resident ID born ``years`` before the child (kwargs: make_resident_id)."""

    def mutate(event: dict[str, Any]) -> None:
        if parent == "father":
            _ensure_father(event)
        person = event[parent]
        birth = _years_before(_born_at(event).date(), years) - timedelta(days=10)
        person.update(
            id_type="resident_id",
            nationality="CHN",
            ethnicity="01",
            id_number=make_resident_id(region, birth, 42, **kwargs),
        )

    return mutate


def _wrong_check_digit(parent: str) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        _parent_id(parent, 30)(event)
        good = event[parent]["id_number"]
        event[parent]["id_number"] = good[:-1] + ("1" if good[-1] != "1" else "2")

    return mutate


def _resident_number(parent: str, number: str) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        if parent == "father":
            _ensure_father(event)
        event[parent].update(id_type="resident_id", nationality="CHN", ethnicity="01")
        event[parent]["id_number"] = number

    return mutate


def _other_document(parent: str, id_type: str, number: str) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        if parent == "father":
            _ensure_father(event)
        event[parent].update(id_type=id_type, id_number=number)

    return mutate


def _no_ethnicity(parent: str) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        if parent == "father":
            _ensure_father(event)
        event[parent]["nationality"] = "CHN"
        event[parent].pop("ethnicity", None)

    return mutate


def _born_relative_to_now(delta: timedelta) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        event["child"]["born_at"] = _iso((datetime.now(UTC) + delta).astimezone(CST))

    return mutate


def _at_now_plus(path: str, delta: timedelta) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        _prepare(event, path)
        _set_path(event, path, _iso((datetime.now(UTC) + delta).astimezone(CST)))

    return mutate


def _birth_order_beyond_plurality(event: dict[str, Any]) -> None:
    event["child"].update(plurality=1, birth_order=2)


def _father_register_without_father(event: dict[str, Any]) -> None:
    event["father"] = None
    event["consent"].pop("father_agreed_at", None)
    event["household"]["register_with"] = "father"


def _father_without_consent(event: dict[str, Any]) -> None:
    _ensure_father(event)
    event["consent"].pop("father_agreed_at", None)


def _dose_before_birth(event: dict[str, Any]) -> None:
    _ensure_dose(event)
    event["vaccinations"][0]["given_at"] = _iso(_born_at(event) - timedelta(hours=1))


def _same_dose_twice(event: dict[str, Any]) -> None:
    _ensure_dose(event)
    event["vaccinations"] = [event["vaccinations"][0], copy.deepcopy(event["vaccinations"][0])]


def _eleven_doses(event: dict[str, Any]) -> None:
    _ensure_dose(event)
    event["vaccinations"] = [copy.deepcopy(event["vaccinations"][0]) for _ in range(11)]


def _service_twice(event: dict[str, Any]) -> None:
    event["services"] = ["birth_certificate", "vaccination_record", "birth_certificate"]


def _whole_body(body: object) -> Mutation:
    def mutate(event: dict[str, Any]) -> object:
        return [event] if body == "list" else body

    return mutate


_REQUIRED = [
    "/schema_version", "/hospital", "/hospital/code", "/hospital/name", "/hospital_record_id",
    "/child", "/child/name", "/child/sex", "/child/born_at", "/child/birthplace_region",
    "/child/gestational_weeks", "/child/weight_g", "/child/length_cm", "/child/plurality",
    "/child/birth_order",
    "/mother", "/mother/name", "/mother/id_type", "/mother/id_number", "/mother/nationality",
    "/mother/phone",
    "/father/name", "/father/id_type", "/father/id_number", "/father/nationality",
    "/household", "/household/register_with", "/household/hukou_region",
    "/household/hukou_address",
    "/insurance", "/insurance/region", "/insurance/scheme",
    "/contact", "/contact/phone", "/contact/mailing_address",
    "/contact/mailing_address/region", "/contact/mailing_address/detail",
    "/contact/mailing_address/recipient",
    "/vaccinations", "/vaccinations/0/vaccine", "/vaccinations/0/dose",
    "/vaccinations/0/lot_number", "/vaccinations/0/given_at",
    "/consent", "/consent/mother_agreed_at",
    "/card_delivery", "/card_delivery/method",
]

_DAY = timedelta(days=1)
_BIG_PHOTO = small_jpeg_base64(40 * 1024)  # 40 KiB of bytes: ~54 KiB encoded
_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode("ascii")


def _cases() -> list[InvalidCase]:
    cases = [InvalidCase(f"missing{p.replace('/', '_')}", _delete(p), p, "missing")
             for p in _REQUIRED]
    c = InvalidCase
    cases += [
        # the body and the version
        c("body_is_a_list", _whole_body("list"), "", "wrong_type"),
        c("body_is_a_string", _whole_body("birth"), "", "wrong_type"),
        c("body_is_a_number", _whole_body(42), "", "wrong_type"),
        c("schema_version_2", _set("/schema_version", "2"), "/schema_version", "not_allowed"),
        c("schema_version_number", _set("/schema_version", 1), "/schema_version",
          "not_allowed"),
        c("extra_top_level_field", _set("/priority", "high"), "/priority", "extra_forbidden"),
        c("extra_child_field", _set("/child/nickname", "小宝"), "/child/nickname",
          "extra_forbidden"),
        c("extra_dose_field", _set("/vaccinations/0/route", "im"), "/vaccinations/0/route",
          "extra_forbidden"),
        # hospital
        c("hospital_not_object", _set("/hospital", "杭州市妇幼"), "/hospital", "wrong_type"),
        c("hospital_code_too_short", _set("/hospital/code", "A1234"), "/hospital/code",
          "too_short"),
        c("hospital_code_too_long", _set("/hospital/code", "A" * 33), "/hospital/code",
          "too_long"),
        c("hospital_code_symbols", _set("/hospital/code", "470000-0143"), "/hospital/code",
          "invalid_characters"),
        c("hospital_code_number", _set("/hospital/code", 47000001433), "/hospital/code",
          "wrong_type"),
        c("hospital_name_empty", _set("/hospital/name", ""), "/hospital/name", "too_short"),
        c("hospital_name_blank", _set("/hospital/name", "   "), "/hospital/name", "blank"),
        c("hospital_name_too_long", _set("/hospital/name", "院" * 101), "/hospital/name",
          "too_long"),
        c("record_id_empty", _set("/hospital_record_id", ""), "/hospital_record_id",
          "too_short"),
        c("record_id_blank", _set("/hospital_record_id", "  \t "), "/hospital_record_id",
          "blank"),
        c("record_id_too_long", _set("/hospital_record_id", "Z" * 65), "/hospital_record_id",
          "too_long"),
        c("record_id_control_character", _set("/hospital_record_id", "ZY\x00123"),
          "/hospital_record_id", "invalid_characters"),
        c("record_id_number", _set("/hospital_record_id", 1234), "/hospital_record_id",
          "wrong_type"),
        # child
        c("child_not_object", _set("/child", ["王子涵"]), "/child", "wrong_type"),
        c("child_name_with_digits", _set("/child/name", "王子涵2"), "/child/name",
          "invalid_characters"),
        c("child_name_too_long", _set("/child/name", "王" * 51), "/child/name", "too_long"),
        c("child_name_empty", _set("/child/name", ""), "/child/name", "too_short"),
        c("child_name_blank", _set("/child/name", "   "), "/child/name", "blank"),
        c("child_name_emoji", _set("/child/name", "王😀"), "/child/name", "invalid_characters"),
        c("child_name_number", _set("/child/name", 7), "/child/name", "wrong_type"),
        c("child_sex_3", _set("/child/sex", "3"), "/child/sex", "not_allowed"),
        c("child_sex_word", _set("/child/sex", "male"), "/child/sex", "not_allowed"),
        c("born_at_in_future", _born_relative_to_now(_DAY), "/child/born_at", "in_future"),
        c("born_at_over_18_years_ago", _born_relative_to_now(-19 * 366 * _DAY), "/child/born_at",
          "too_old"),
        c("born_at_without_offset", _set("/child/born_at", "2024-05-01T08:30:00"),
          "/child/born_at", "timezone_required"),
        c("born_at_date_only", _set("/child/born_at", "2024-05-01"), "/child/born_at",
          "invalid_format"),
        c("born_at_not_a_date", _set("/child/born_at", "yesterday"), "/child/born_at",
          "invalid_format"),
        c("born_at_impossible_day", _set("/child/born_at", "2024-02-30T08:30:00+08:00"),
          "/child/born_at", "invalid_format"),
        c("born_at_unix_time", _set("/child/born_at", 1714523400), "/child/born_at",
          "wrong_type"),
        c("birthplace_unknown", _set("/child/birthplace_region", "999999"),
          "/child/birthplace_region", "unknown_region"),
        c("birthplace_abolished", _set("/child/birthplace_region", "110103"),
          "/child/birthplace_region", "unknown_region"),
        c("birthplace_five_digits", _set("/child/birthplace_region", "33010"),
          "/child/birthplace_region", "invalid_format"),
        c("birthplace_number", _set("/child/birthplace_region", 330106),
          "/child/birthplace_region", "wrong_type"),
        c("weeks_19", _set("/child/gestational_weeks", 19), "/child/gestational_weeks",
          "out_of_range"),
        c("weeks_46", _set("/child/gestational_weeks", 46), "/child/gestational_weeks",
          "out_of_range"),
        c("weeks_string", _set("/child/gestational_weeks", "39"), "/child/gestational_weeks",
          "wrong_type"),
        c("weeks_fraction", _set("/child/gestational_weeks", 39.5), "/child/gestational_weeks",
          "wrong_type"),
        c("weight_299", _set("/child/weight_g", 299), "/child/weight_g", "out_of_range"),
        c("weight_7001", _set("/child/weight_g", 7001), "/child/weight_g", "out_of_range"),
        c("weight_boolean", _set("/child/weight_g", True), "/child/weight_g", "wrong_type"),
        c("length_19_9", _set("/child/length_cm", 19.9), "/child/length_cm", "out_of_range"),
        c("length_70_1", _set("/child/length_cm", 70.1), "/child/length_cm", "out_of_range"),
        c("length_string", _set("/child/length_cm", "50"), "/child/length_cm", "wrong_type"),
        c("plurality_0", _set("/child/plurality", 0), "/child/plurality", "out_of_range"),
        c("plurality_9", _set("/child/plurality", 9), "/child/plurality", "out_of_range"),
        c("birth_order_0", _set("/child/birth_order", 0), "/child/birth_order", "out_of_range"),
        c("birth_order_beyond_plurality", _birth_order_beyond_plurality, "/child/birth_order",
          "exceeds_plurality"),
        # mother and father
        c("mother_not_object", _set("/mother", "李静"), "/mother", "wrong_type"),
        c("mother_name_with_digits", _set("/mother/name", "李静1"), "/mother/name",
          "invalid_characters"),
        c("mother_id_type_unknown", _set("/mother/id_type", "military_id"), "/mother/id_type",
          "not_allowed"),
        c("mother_id_bad_check_digit", _wrong_check_digit("mother"), "/mother/id_number",
          "invalid_check_digit"),
        c("mother_id_unknown_region", _parent_id("mother", 30, region="999999"),
          "/mother/id_number", "unknown_region"),
        c("mother_id_too_young", _parent_id("mother", 10), "/mother/id_number",
          "implausible_parent_age"),
        c("mother_id_too_old", _parent_id("mother", 75), "/mother/id_number",
          "implausible_parent_age"),
        c("mother_id_17_characters", _resident_number("mother", "33010619950314128"),
          "/mother/id_number", "invalid_length"),
        c("mother_id_19_characters", _resident_number("mother", "3301061995031412811"),
          "/mother/id_number", "invalid_length"),
        c("mother_id_letter_inside", _resident_number("mother", "3301061995A314128X"),
          "/mother/id_number", "invalid_format"),
        c("mother_id_impossible_date",
          _resident_number("mother", _with_check("33010619950230128")),
          "/mother/id_number", "invalid_date"),
        c("mother_passport_too_short", _other_document("mother", "passport", "E12"),
          "/mother/id_number", "too_short"),
        c("mother_passport_too_long", _other_document("mother", "passport", "E" * 31),
          "/mother/id_number", "too_long"),
        c("mother_passport_with_space", _other_document("mother", "passport", "E1234 5678"),
          "/mother/id_number", "invalid_characters"),
        c("mother_id_number_type", _set("/mother/id_number", 330106199503141280),
          "/mother/id_number", "wrong_type"),
        c("mother_nationality_alpha_2", _set("/mother/nationality", "CN"),
          "/mother/nationality", "invalid_format"),
        c("mother_nationality_lowercase", _set("/mother/nationality", "chn"),
          "/mother/nationality", "invalid_format"),
        c("mother_nationality_unknown", _set("/mother/nationality", "XYZ"),
          "/mother/nationality", "unknown_country"),
        c("mother_ethnicity_missing_for_chn", _no_ethnicity("mother"), "/mother/ethnicity",
          "ethnicity_required"),
        c("mother_ethnicity_57", _set("/mother/ethnicity", "57"), "/mother/ethnicity",
          "not_allowed"),
        c("mother_ethnicity_one_digit", _set("/mother/ethnicity", "1"), "/mother/ethnicity",
          "not_allowed"),
        c("mother_phone_not_mobile", _set("/mother/phone", "12345678901"), "/mother/phone",
          "invalid_format"),
        c("mother_phone_with_country_code", _set("/mother/phone", "+8613812345678"),
          "/mother/phone", "invalid_format"),
        c("mother_phone_null", _set("/mother/phone", None), "/mother/phone", "wrong_type"),
        c("father_not_object", _set("/father", "王强"), "/father", "wrong_type"),
        c("father_name_with_digits", _set("/father/name", "王强2"), "/father/name",
          "invalid_characters"),
        c("father_id_bad_check_digit", _wrong_check_digit("father"), "/father/id_number",
          "invalid_check_digit"),
        c("father_id_too_young", _parent_id("father", 11), "/father/id_number",
          "implausible_parent_age"),
        c("father_id_too_old", _parent_id("father", 71), "/father/id_number",
          "implausible_parent_age"),
        c("father_ethnicity_missing_for_chn", _no_ethnicity("father"), "/father/ethnicity",
          "ethnicity_required"),
        c("father_phone_ten_digits", _set("/father/phone", "1399876543"), "/father/phone",
          "invalid_format"),
        c("father_nationality_unknown", _set("/father/nationality", "ZZZ"),
          "/father/nationality", "unknown_country"),
        c("father_extra_field", _set("/father/relation", "father"), "/father/relation",
          "extra_forbidden"),
        # household, insurance, contact
        c("register_with_father_without_father", _father_register_without_father,
          "/household/register_with", "father_required"),
        c("register_with_grandmother", _set("/household/register_with", "grandmother"),
          "/household/register_with", "not_allowed"),
        c("hukou_region_unknown", _set("/household/hukou_region", "330199"),
          "/household/hukou_region", "unknown_region"),
        c("hukou_address_empty", _set("/household/hukou_address", ""),
          "/household/hukou_address", "too_short"),
        c("hukou_address_too_long", _set("/household/hukou_address", "路" * 201),
          "/household/hukou_address", "too_long"),
        c("household_number_symbols", _set("/household/household_number", "3301-0601"),
          "/household/household_number", "invalid_characters"),
        c("household_number_too_long", _set("/household/household_number", "1" * 21),
          "/household/household_number", "too_long"),
        c("household_number_empty", _set("/household/household_number", ""),
          "/household/household_number", "too_short"),
        c("insurance_scheme_employee", _set("/insurance/scheme", "employee"),
          "/insurance/scheme", "not_allowed"),
        c("insurance_region_unknown", _set("/insurance/region", "000000"),
          "/insurance/region", "unknown_region"),
        c("contact_phone_landline", _set("/contact/phone", "057188886666"),
          "/contact/phone", "invalid_format"),
        c("mailing_region_unknown", _set("/contact/mailing_address/region", "339999"),
          "/contact/mailing_address/region", "unknown_region"),
        c("mailing_detail_empty", _set("/contact/mailing_address/detail", ""),
          "/contact/mailing_address/detail", "too_short"),
        c("mailing_detail_too_long", _set("/contact/mailing_address/detail", "号" * 201),
          "/contact/mailing_address/detail", "too_long"),
        c("mailing_recipient_with_digits", _set("/contact/mailing_address/recipient", "李静3"),
          "/contact/mailing_address/recipient", "invalid_characters"),
        # vaccinations
        c("vaccinations_not_a_list", _set("/vaccinations", {"vaccine": "HepB"}),
          "/vaccinations", "wrong_type"),
        c("vaccinations_eleven", _eleven_doses, "/vaccinations", "too_long"),
        c("vaccine_mmr", _set("/vaccinations/0/vaccine", "MMR"), "/vaccinations/0/vaccine",
          "not_allowed"),
        c("dose_0", _set("/vaccinations/0/dose", 0), "/vaccinations/0/dose", "out_of_range"),
        c("dose_5", _set("/vaccinations/0/dose", 5), "/vaccinations/0/dose", "out_of_range"),
        c("lot_number_empty", _set("/vaccinations/0/lot_number", ""),
          "/vaccinations/0/lot_number", "too_short"),
        c("lot_number_too_long", _set("/vaccinations/0/lot_number", "L" * 41),
          "/vaccinations/0/lot_number", "too_long"),
        c("dose_given_before_birth", _dose_before_birth, "/vaccinations/0/given_at",
          "before_birth"),
        c("dose_given_in_future", _at_now_plus("/vaccinations/0/given_at", _DAY),
          "/vaccinations/0/given_at", "in_future"),
        c("dose_given_without_offset", _set("/vaccinations/0/given_at", "2024-05-01T09:00:00"),
          "/vaccinations/0/given_at", "timezone_required"),
        c("dose_site_empty", _set("/vaccinations/0/site", ""), "/vaccinations/0/site",
          "too_short"),
        c("dose_site_too_long", _set("/vaccinations/0/site", "臂" * 61),
          "/vaccinations/0/site", "too_long"),
        c("same_dose_twice", _same_dose_twice, "/vaccinations/1", "duplicate_item"),
        # services
        c("service_unknown", _set("/services", ["passport"]), "/services/0", "not_allowed"),
        c("service_twice", _service_twice, "/services/2", "duplicate_item"),
        c("services_empty", _set("/services", []), "/services", "too_short"),
        c("services_not_a_list", _set("/services", "all"), "/services", "wrong_type"),
        # consent
        c("father_consent_missing", _father_without_consent, "/consent/father_agreed_at",
          "consent_required"),
        c("mother_consent_in_future", _at_now_plus("/consent/mother_agreed_at", _DAY),
          "/consent/mother_agreed_at", "in_future"),
        c("father_consent_in_future", _at_now_plus("/consent/father_agreed_at", _DAY),
          "/consent/father_agreed_at", "in_future"),
        c("mother_consent_not_a_date", _set("/consent/mother_agreed_at", "soon"),
          "/consent/mother_agreed_at", "invalid_format"),
        # card delivery
        c("card_delivery_courier", _set("/card_delivery/method", "courier"),
          "/card_delivery/method", "not_allowed"),
        c("photo_too_big", _set("/card_delivery/photo", _BIG_PHOTO), "/card_delivery/photo",
          "too_long"),
        c("photo_not_base64", _set("/card_delivery/photo", "not base64!"),
          "/card_delivery/photo", "invalid_format"),
        c("photo_png", _set("/card_delivery/photo", _PNG), "/card_delivery/photo",
          "invalid_format"),
        # duplicate confirmation
        c("duplicate_checked_string", _set("/duplicate_of_checked", "yes"),
          "/duplicate_of_checked", "wrong_type"),
    ]
    return cases


def _with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


INVALID_CASES: list[InvalidCase] = _cases()
