"""Sample department-neutral records for the adapter tests (valid per contracts)."""

from datetime import UTC, date, datetime
from typing import Any

from stdnum.cn import ric

from contracts.birth import Child, Dose, Parent
from contracts.records import (
    BirthCertificateRecord,
    HouseholdRegistrationRecord,
    MailingAddress,
    MedicalInsuranceRecord,
    SocialSecurityCardRecord,
    VaccinationRecord,
)

# The birth happened at 08:30 in China, 00:30 UTC (docs/departments.md's example).
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
BORN_AT = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
CONTEXT = {"now": NOW}

CHILD_NAME = "王小明"
MOTHER_NAME = "李秀英"
FATHER_NAME = "王建国"
MOTHER_PHONE = "13800138000"
HUKOU_ADDRESS = "西湖区文三路 100 号 1 幢 101 室"
MAIL_DETAIL = "西湖区文三路 100 号"


def resident_id(region: str = "330106", born: str = "19950312", seq: str = "124") -> str:
    """A resident ID with a valid GB 11643 check digit."""
    body = region + born + seq
    return body + ric.calc_check_digit(body + "0")


MOTHER_ID = resident_id(born="19950312", seq="124")
FATHER_ID = resident_id(born="19930705", seq="135")
CHILD_ID = resident_id(born="20261127", seq="013")


def child(**changes: Any) -> Child:
    data: dict[str, Any] = {
        "name": CHILD_NAME,
        "sex": "1",
        "born_at": BORN_AT,
        "birthplace_region": "330106",
        "gestational_weeks": 39,
        "weight_g": 3250,
        "length_cm": 50.0,
        "plurality": 1,
        "birth_order": 1,
    } | changes
    return Child.model_validate(data, context=CONTEXT)


def mother(**changes: Any) -> Parent:
    data: dict[str, Any] = {
        "name": MOTHER_NAME,
        "id_type": "resident_id",
        "id_number": MOTHER_ID,
        "nationality": "CHN",
        "ethnicity": "01",
        "phone": MOTHER_PHONE,
    } | changes
    return Parent.model_validate(data, context=CONTEXT)


def father(**changes: Any) -> Parent:
    data: dict[str, Any] = {
        "name": FATHER_NAME,
        "id_type": "resident_id",
        "id_number": FATHER_ID,
        "nationality": "CHN",
        "ethnicity": "01",
        "phone": None,
    } | changes
    return Parent.model_validate(data, context=CONTEXT)


def dose(**changes: Any) -> Dose:
    data: dict[str, Any] = {
        "vaccine": "HepB",
        "dose": 1,
        "lot_number": "HB2026110",
        "given_at": datetime(2026, 11, 27, 1, 0, tzinfo=UTC),
        "site": "right deltoid",
    } | changes
    return Dose.model_validate(data, context=CONTEXT)


def certificate_record(*, with_father: bool = True, **changes: Any) -> BirthCertificateRecord:
    return BirthCertificateRecord(
        hospital_code="H3301060001",
        hospital_name="杭州市妇产科医院",
        child=changes.pop("child", child()),
        mother=changes.pop("mother", mother()),
        father=father() if with_father else None,
    )


def vaccination_record(**changes: Any) -> VaccinationRecord:
    return VaccinationRecord(
        hospital_code="H3301060001",
        child=changes.pop("child", child()),
        guardian=changes.pop("guardian", mother()),
        doses=changes.pop(
            "doses",
            [
                dose(),
                dose(
                    vaccine="BCG",
                    lot_number="BCG2026031",
                    given_at=datetime(2026, 11, 27, 1, 5, tzinfo=UTC),
                    site=None,
                ),
            ],
        ),
    )


def household_record(**changes: Any) -> HouseholdRegistrationRecord:
    data: dict[str, Any] = {
        "certificate_number": "A123456789",
        "child": child(),
        "declarant": mother(),
        "relation": "mother",
        "hukou_region": "330106",
        "hukou_address": HUKOU_ADDRESS,
        "household_number": None,
    } | changes
    return HouseholdRegistrationRecord(**data)


def insurance_record(**changes: Any) -> MedicalInsuranceRecord:
    data: dict[str, Any] = {
        "citizen_id": CHILD_ID,
        "name": CHILD_NAME,
        "sex": "1",
        "birth_date": date(2026, 11, 27),
        "region": "330106",
        "scheme": "resident",
    } | changes
    return MedicalInsuranceRecord(**data)


def mailing_address() -> MailingAddress:
    return MailingAddress(
        region="330106", detail=MAIL_DETAIL, recipient=MOTHER_NAME, phone=MOTHER_PHONE
    )


def card_record(**changes: Any) -> SocialSecurityCardRecord:
    data: dict[str, Any] = {
        "citizen_id": CHILD_ID,
        "insurance_number": "33010600000012345",
        "name": CHILD_NAME,
        "sex": "1",
        "birth_date": date(2026, 11, 27),
        "delivery": "mail",
        "mailing_address": mailing_address(),
        "photo": None,
    } | changes
    return SocialSecurityCardRecord(**data)


PERSONAL = (CHILD_NAME, MOTHER_NAME, FATHER_NAME, MOTHER_ID, FATHER_ID, CHILD_ID, MOTHER_PHONE)
"""Values that must never appear in a log line."""
