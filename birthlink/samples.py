"""Realistic, valid, generated births: for `birthlink demo`, benchmarks and tests.

Names, ID numbers and phones are made up; resident ID numbers carry a valid
GB 11643 check digit and an existing region.
"""

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from stdnum.cn import ric, uscc

CST = timezone(timedelta(hours=8))
DEMO_HOSPITAL = {"code": "H33010600001", "name": "杭州市西湖区妇幼保健院"}
REGIONS = ("330106", "330102", "330105", "330108", "110105", "440305")
# Baiyin (白银市), the default profile's city: its districts and counties.
BAIYIN_HOSPITAL = {"code": "H62040200001", "name": "白银市妇幼保健院"}
BAIYIN_REGIONS = ("620402", "620403", "620421", "620422", "620423")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "子涵浩宇欣怡梓萱雨桐一诺思远嘉乐沐阳安然若溪明轩语嫣"


def resident_id(region: str, born: date, seq: int) -> str:
    """An 18-character resident ID with a valid check digit."""
    body = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


def _name(rng: random.Random, length: int = 2) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(length))


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def birth_event(
    rng: random.Random | None = None,
    *,
    now: datetime | None = None,
    hospital: dict[str, str] | None = None,
    record_id: str | None = None,
) -> dict[str, Any]:
    """One valid birth event as the hospital would post it (JSON-ready)."""
    rng = rng or random.Random()
    now = now or datetime.now(UTC)
    born_at = (now - timedelta(minutes=rng.randrange(30, 60 * 24 * 3))).astimezone(CST)
    born_at = born_at.replace(second=0, microsecond=0)
    sex = rng.choice("12")
    region = rng.choice(REGIONS)
    mother_born = born_at.date() - timedelta(days=365 * rng.randrange(22, 40) + rng.randrange(300))
    father_born = mother_born - timedelta(days=rng.randrange(0, 2000))
    mother_phone = _mobile(rng)
    surname = _name(rng)[0]
    mother = {
        "name": _name(rng),
        "id_type": "resident_id",
        "id_number": resident_id(region, mother_born, rng.randrange(0, 999, 2)),
        "nationality": "CHN",
        "ethnicity": "01",
        "phone": mother_phone,
    }
    father = {
        "name": surname + _name(rng)[1:],
        "id_type": "resident_id",
        "id_number": resident_id(region, father_born, rng.randrange(1, 999, 2)),
        "nationality": "CHN",
        "ethnicity": "01",
        "phone": _mobile(rng),
    }
    given_at = (born_at + timedelta(minutes=30)).isoformat()
    return {
        "schema_version": "1",
        "hospital": hospital or DEMO_HOSPITAL,
        "hospital_record_id": record_id or f"R{rng.randrange(10**12):012d}",
        "child": {
            "name": surname + _name(rng)[1:],
            "sex": sex,
            "born_at": born_at.isoformat(),
            "birthplace_region": "330106",
            "gestational_weeks": rng.randrange(37, 42),
            "weight_g": rng.randrange(2600, 4200),
            "length_cm": float(rng.randrange(46, 55)),
            "plurality": 1,
            "birth_order": 1,
        },
        "mother": mother,
        "father": father,
        "household": {
            "register_with": rng.choice(("mother", "father")),
            "hukou_region": region,
            "hukou_address": f"文三路{rng.randrange(1, 999)}号{rng.randrange(1, 30)}幢",
            "household_number": None,
        },
        "insurance": {"region": region, "scheme": "resident"},
        "contact": {
            "phone": mother_phone,
            "mailing_address": {
                "region": region,
                "detail": f"学院路{rng.randrange(1, 999)}号",
                "recipient": mother["name"],
            },
        },
        "vaccinations": [
            {
                "vaccine": "HepB",
                "dose": 1,
                "lot_number": f"HB{rng.randrange(10**6):06d}",
                "given_at": given_at,
                "site": "右上臂三角肌",
            },
            {
                "vaccine": "BCG",
                "dose": 1,
                "lot_number": f"BCG{rng.randrange(10**6):06d}",
                "given_at": given_at,
                "site": "左上臂三角肌",
            },
        ],
        "services": [
            "birth_certificate",
            "vaccination_record",
            "household_registration",
            "medical_insurance",
            "social_security_card",
        ],
        "consent": {
            "mother_agreed_at": (born_at + timedelta(minutes=10)).isoformat(),
            "father_agreed_at": (born_at + timedelta(minutes=12)).isoformat(),
        },
        "card_delivery": {"method": rng.choice(("mail", "collect")), "photo": None},
        "duplicate_of_checked": False,
    }


def credit_code(region: str, rng: random.Random) -> str:
    """A made-up unified social credit code (a company registered in `region`)
    with a valid GB 32100 check character."""
    body = f"91{region}{rng.randrange(10**9):09d}"
    return body + uscc.calc_check_digit(body + "0")


def baiyin_birth_event(
    rng: random.Random | None = None,
    *,
    now: datetime | None = None,
    record_id: str | None = None,
    family_child_number: int | None = None,
    insured: bool | None = None,
) -> dict[str, Any]:
    """A birth in Baiyin: the hospital, the parents and the household in one of
    its counties; a first, second or third child (`family_child_number`, else
    random); the mother insured as an employee or not (`insured`, else random)."""
    rng = rng or random.Random()
    event = birth_event(rng, now=now, hospital=BAIYIN_HOSPITAL, record_id=record_id)
    region = rng.choice(BAIYIN_REGIONS)
    born = date.fromisoformat(event["child"]["born_at"][:10])
    for parent, seq in (("mother", rng.randrange(0, 999, 2)), ("father", rng.randrange(1, 999, 2))):
        parent_born = born - timedelta(days=365 * rng.randrange(22, 40) + rng.randrange(300))
        event[parent]["id_number"] = resident_id(region, parent_born, seq)
    event["child"]["birthplace_region"] = "620402"
    event["child"]["family_child_number"] = family_child_number or rng.choice((1, 2, 2, 3))
    event["household"]["hukou_region"] = region
    event["household"]["hukou_address"] = f"人民路{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋"
    event["insurance"]["region"] = region
    event["contact"]["mailing_address"]["region"] = region
    event["contact"]["mailing_address"]["detail"] = f"北京路{rng.randrange(1, 999)}号"
    insured = rng.random() < 0.6 if insured is None else insured
    event["mother"]["employment"] = {
        "employer_code": credit_code(region, rng),
        "insured": insured,
    }
    return event


def demo_of(
    jurisdiction: str | None,
) -> tuple[dict[str, str], Callable[[random.Random], dict[str, Any]]]:
    """The demo hospital and births of a deployment: Baiyin's in Baiyin (or a
    profile of a place that holds it), the Zhejiang demo elsewhere."""
    if jurisdiction and BAIYIN_REGIONS[0].startswith(jurisdiction):  # Baiyin, or Gansu
        return BAIYIN_HOSPITAL, lambda rng: baiyin_birth_event(rng)
    return DEMO_HOSPITAL, lambda rng: birth_event(rng)
