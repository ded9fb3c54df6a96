"""The birth event, contract v1: what a hospital posts, as pydantic models.

Every model forbids unknown fields. Rules that need "now" (a birth is not in the
future, nor more than a year ago; consent and doses are not in the future) read it
from the validation context, ``BirthEvent.model_validate(data, context={"now": t})``,
and use the real UTC time when it is absent; ``context={"time_rules": False}`` turns
them off for re-reading stored events and records (a birth accepted eleven months
ago must still load next year), and with them two refusals newer than some stored
births: control characters in free text, and a foreign hukou declarant beside a
Chinese parent.

Rule violations are raised as ``PydanticCustomError(code, english, {"zh": chinese})``
at the field they concern, also for rules that span fields (a birth order beyond
the plurality is reported at ``child.birth_order``, a missing father's consent at
``consent.father_agreed_at``). :mod:`contracts.problems` turns them into field
problems with JSON pointers; the codes are listed there.
"""

# Chinese messages use Chinese (full-width) punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import binascii
import copy
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Final, Literal

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from stdnum.cn import ric, uscc

from contracts.regions import region_exists, region_known

__all__ = [
    "BIRTH_EVENT_SCHEMA_ID",
    "FUTURE_TOLERANCE",
    "MIDDLE_DOT",
    "NAME_POINTERS",
    "PARENT_AGE_RANGE",
    "PHOTO_MAX_CHARS",
    "SERVICES",
    "BirthEvent",
    "CardDelivery",
    "Child",
    "Consent",
    "Contact",
    "DeliveryMethod",
    "Dose",
    "Hospital",
    "Household",
    "IdType",
    "Insurance",
    "MailingAddress",
    "Mother",
    "Parent",
    "RegisterWith",
    "Service",
    "Sex",
    "Vaccine",
    "birth_event_json_schema",
    "normalise_name",
    "resident_id_birth_date",
]

Sex = Literal["1", "2", "9"]
IdType = Literal[
    "resident_id", "passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent_id"
]
RegisterWith = Literal["mother", "father"]
Vaccine = Literal["HepB", "BCG"]
DeliveryMethod = Literal["mail", "collect"]
Service = Literal[
    "birth_certificate",
    "vaccination_record",
    "household_registration",
    "medical_insurance",
    "social_security_card",
]

SERVICES: Final[tuple[Service, ...]] = (
    "birth_certificate",
    "vaccination_record",
    "household_registration",
    "medical_insurance",
    "social_security_card",
)
# Hospital clocks drift; a timestamp a few minutes ahead of ours is not "in the future".
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
# Age of a parent at the child's birth, inclusive, in completed years.
PARENT_AGE_RANGE: Final = (12, 70)
PHOTO_MAX_CHARS: Final = 48 * 1024
BIRTH_EVENT_SCHEMA_ID: Final = "https://birthlink.example/v1/schemas/birth-event.json"

_ETHNICITIES: Final = frozenset({f"{n:02d}" for n in range(1, 57)} | {"97", "98"})
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
_ALNUM = re.compile(r"[A-Za-z0-9]+")
_OTHER_ID = re.compile(r"[A-Za-z0-9()\-]+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_REGION = re.compile(r"[0-9]{6}")
_ALPHA3 = re.compile(r"[A-Z]{3}")
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
# After the middle dot's look-alikes are normalised, a name's only punctuation: the
# middle dot of 阿依古丽·买买提, and the space, hyphen, apostrophe and full stop of
# Latin-script names (Jean-Luc O'Neil, John F. Kennedy).
MIDDLE_DOT: Final = "·"
# Where the event holds a person's name (JSON pointers).
NAME_POINTERS: Final = (
    "/child/name", "/mother/name", "/father/name", "/contact/mailing_address/recipient"
)
_NAME_PUNCTUATION = frozenset(" ·-'.")
# Typed for the middle dot by input methods and fonts: the bullet, the katakana and
# half-width katakana middle dots, the hyphenation point, the bullet and dot operators;
# and the full stops (ASCII and full-width), which are the dot unless they follow a Latin letter.
_DOT_LOOK_ALIKES = frozenset("•・･‧∙⋅")
_FULL_STOPS = frozenset(".．")
# Residence permits of Hong Kong, Macao and Taiwan residents: 18 characters under
# GB 11643 whose first six digits are these codes, not GB/T 2260 regions (SPEC §3).
_PERMIT_REGIONS: Final = frozenset({"810000", "820000", "830000"})
# Documents of Hong Kong, Macao and Taiwan residents, who have no GB 3304 ethnicity.
_PERMIT_TYPES: Final = frozenset({"hk_macao_permit", "taiwan_permit"})


# -- errors -----------------------------------------------------------------------------


def _error(code: str, message: str, zh: str) -> PydanticCustomError:
    """A rule violation: stable code, English message, Chinese message."""
    return PydanticCustomError(code, message, {"zh": zh})


def _errors_at(
    errors: Iterable[tuple[tuple[str | int, ...], object, PydanticCustomError]],
) -> ValidationError:
    """Errors at locations below the field being validated (pydantic prefixes the field)."""
    return ValidationError.from_exception_data(
        "BirthEvent",
        [InitErrorDetails(type=err, loc=loc, input=value) for loc, value, err in errors],
    )


def _time_rules_apply(info: ValidationInfo) -> bool:
    """False when re-reading a stored event (context ``{"time_rules": False}``): a birth
    accepted last year is still a valid record today."""
    context = info.context
    return not (isinstance(context, dict) and context.get("time_rules") is False)


def _now(info: ValidationInfo) -> datetime:
    context = info.context
    now = context.get("now") if isinstance(context, dict) else None
    if not isinstance(now, datetime):
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


# -- field types ------------------------------------------------------------------------


def _not_blank(value: object) -> object:
    if isinstance(value, str) and value and not value.strip():
        raise _error("blank", "must not be blank", "不能只包含空白字符")
    return value


def _control_character(value: str) -> bool:
    """Whether ``value`` holds a C0 or C1 control character (U+0000-001F, U+007F-009F),
    tabs and line breaks included: departments' XML and fixed-width formats break on them."""
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def _no_controls(value: object, info: ValidationInfo) -> object:
    """Free text never holds control characters (SPEC §3). Checked on the text as posted,
    before white space is trimmed. Not applied when re-reading a stored event
    (``time_rules: False``): a birth stored before this rule still loads."""
    if isinstance(value, str) and _time_rules_apply(info) and _control_character(value):
        raise _error(
            "invalid_characters", "must not contain control characters",
            "不能包含控制字符",
        )
    return value


# Validators in Annotated: the last BeforeValidator runs first (blank, then controls).
# The schema says it too (for integrators and generated tests); the validator enforces it.
_NO_CONTROLS_SCHEMA = Field(json_schema_extra={"pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"})
Text40 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    BeforeValidator(_no_controls), BeforeValidator(_not_blank), _NO_CONTROLS_SCHEMA,
]
Text60 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60),
    BeforeValidator(_no_controls), BeforeValidator(_not_blank), _NO_CONTROLS_SCHEMA,
]
Text100 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    BeforeValidator(_no_controls), BeforeValidator(_not_blank), _NO_CONTROLS_SCHEMA,
]
Text200 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    BeforeValidator(_no_controls), BeforeValidator(_not_blank), _NO_CONTROLS_SCHEMA,
]


def _latin_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L") and unicodedata.name(ch, "").startswith(
        "LATIN"
    )


def normalise_name(value: str) -> str:
    """``value`` with the look-alikes of the middle dot written as "·" (U+00B7).

    A full stop stays one after a Latin letter (the initial of "John F. Kennedy"),
    as an ASCII "."; anywhere else it is taken for the middle dot ("约翰.史密斯").
    """
    chars = list(value)
    for i, ch in enumerate(chars):
        if ch in _DOT_LOOK_ALIKES:
            chars[i] = MIDDLE_DOT
        elif ch in _FULL_STOPS:
            chars[i] = "." if i > 0 and _latin_letter(chars[i - 1]) else MIDDLE_DOT
    return "".join(chars)


def _person_name(value: str) -> str:
    if any(unicodedata.category(ch).startswith("N") for ch in value):
        raise _error("invalid_characters", "must not contain digits", "不能包含数字")
    allowed = all(
        ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] in "LM" for ch in value
    )
    if not allowed or not any(unicodedata.category(ch).startswith("L") for ch in value):
        raise _error(
            "invalid_characters",
            "may contain only letters, spaces and the marks · - ' .",
            "只能包含文字、空格和 · - ' . 符号",
        )
    return value


PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    BeforeValidator(_no_controls), BeforeValidator(_not_blank), _NO_CONTROLS_SCHEMA,
    AfterValidator(normalise_name),
    AfterValidator(_person_name),
]


def _hospital_code(value: str) -> str:
    if _ALNUM.fullmatch(value) is None:
        raise _error(
            "invalid_characters", "may contain only letters A-Z and digits",
            "只能包含英文字母和数字",
        )
    return value


HospitalCode = Annotated[
    str,
    StringConstraints(min_length=6, max_length=32),
    AfterValidator(_hospital_code),
    WithJsonSchema({"type": "string", "minLength": 6, "maxLength": 32,
                    "pattern": "^[A-Za-z0-9]{6,32}$"}),
]


def _record_id(value: str) -> str:
    if not value.isprintable():
        raise _error(
            "invalid_characters", "must contain only printable characters",
            "只能包含可打印字符",
        )
    return value


RecordId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    BeforeValidator(_not_blank),
    AfterValidator(_record_id),
]


def _region(value: str) -> str:
    if _REGION.fullmatch(value) is None:
        raise _error(
            "invalid_format", "must be a 6-digit GB/T 2260 region code",
            "必须是 6 位 GB/T 2260 行政区划代码",
        )
    if not region_exists(value):
        raise _error(
            "unknown_region", "is not a current GB/T 2260 region code",
            "不是现行的 GB/T 2260 行政区划代码",
        )
    return value


RegionCode = Annotated[
    str,
    AfterValidator(_region),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{6}$",
                    "description": "GB/T 2260 administrative division code in use"}),
]


def _mobile(value: str) -> str:
    if _MOBILE.fullmatch(value) is None:
        raise _error(
            "invalid_format", "must be a mainland mobile number: 11 digits starting with 13-19",
            "必须是 11 位中国大陆手机号码（以 13 至 19 开头）",
        )
    return value


MobilePhone = Annotated[
    str,
    AfterValidator(_mobile),
    WithJsonSchema({"type": "string", "pattern": "^1[3-9][0-9]{9}$"}),
]


@lru_cache(maxsize=512)
def _country_exists(alpha_3: str) -> bool:
    return pycountry.countries.get(alpha_3=alpha_3) is not None


def _nationality(value: str) -> str:
    if _ALPHA3.fullmatch(value) is None:
        raise _error(
            "invalid_format", "must be an ISO 3166 alpha-3 country code in capitals, e.g. CHN",
            "必须是大写的 ISO 3166 三字母国家代码，例如 CHN",
        )
    if not _country_exists(value):
        raise _error(
            "unknown_country", "is not an ISO 3166 country code", "不是有效的 ISO 3166 国家代码"
        )
    return value


Nationality = Annotated[
    str,
    AfterValidator(_nationality),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$",
                    "description": "ISO 3166-1 alpha-3"}),
]


def _ethnicity(value: str) -> str:
    if value not in _ETHNICITIES:
        raise _error(
            "not_allowed", "must be a GB 3304 ethnicity code: 01 to 56, 97 or 98",
            "必须是 GB 3304 民族代码：01 至 56、97 或 98",
        )
    return value


Ethnicity = Annotated[
    str,
    AfterValidator(_ethnicity),
    WithJsonSchema({"type": "string", "enum": sorted(_ETHNICITIES),
                    "description": "GB 3304: 01-56, 97 other, 98 foreign-born naturalised"}),
]


def _household_number(value: str) -> str:
    if _ALNUM.fullmatch(value) is None:
        raise _error(
            "invalid_characters", "may contain only letters A-Z and digits",
            "只能包含英文字母和数字",
        )
    return value


HouseholdNumber = Annotated[
    str,
    StringConstraints(min_length=1, max_length=20),
    AfterValidator(_household_number),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z0-9]{1,20}$"}),
]


def _photo(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(b"\xff\xd8\xff"):
        raise _error(
            "invalid_format", "must be a base64-encoded JPEG image",
            "必须是 base64 编码的 JPEG 图片",
        )
    return value


Photo = Annotated[
    str,
    StringConstraints(max_length=PHOTO_MAX_CHARS),
    AfterValidator(_photo),
    WithJsonSchema({"type": "string", "contentEncoding": "base64",
                    "contentMediaType": "image/jpeg", "maxLength": PHOTO_MAX_CHARS}),
]


def _datetime_input(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        if _ISO_DATETIME.match(value) is None:
            raise _error(
                "invalid_format",
                "must be an ISO 8601 date-time with offset, e.g. 2024-05-01T08:30:00+08:00",
                "必须是带时区偏移的 ISO 8601 日期时间，例如 2024-05-01T08:30:00+08:00",
            )
        return value
    raise _error("wrong_type", "must be a date-time string", "必须是日期时间字符串")


def _not_in_future(value: datetime, info: ValidationInfo) -> datetime:
    if _time_rules_apply(info) and value > _now(info) + FUTURE_TOLERANCE:
        raise _error("in_future", "must not be in the future", "不能晚于当前时间")
    return value


PastTimestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_datetime_input),
    AfterValidator(_not_in_future),
]

# -- identity documents -----------------------------------------------------------------


def resident_id_birth_date(number: str) -> date:
    """The birth date embedded in an 18-character resident ID (ValueError if none)."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def _resident_id(value: str) -> str:
    value = value.upper()
    if len(value) != 18:
        raise _error(
            "invalid_length", "must be 18 characters for a resident ID",
            "居民身份证号码必须是 18 位",
        )
    if _RESIDENT_ID.fullmatch(value) is None:
        raise _error(
            "invalid_format", "must be 17 digits followed by a digit or X",
            "必须是 17 位数字加 1 位数字或 X",
        )
    if ric.calc_check_digit(value) != value[-1]:
        raise _error(
            "invalid_check_digit", "has a wrong check digit (GB 11643)",
            "校验码错误（GB 11643）",
        )
    try:
        resident_id_birth_date(value)
    except ValueError:
        raise _error(
            "invalid_date", "contains an impossible birth date", "包含的出生日期不存在"
        ) from None
    if value[:6] not in _PERMIT_REGIONS and not region_known(value[:6]):
        raise _error(
            "unknown_region", "starts with a region code that is not in GB/T 2260",
            "前 6 位不是 GB/T 2260 行政区划代码",
        )
    return value


def _other_id(value: str) -> str:
    if len(value) < 5:
        raise _error("too_short", "must have at least 5 characters", "至少需要 5 个字符")
    if len(value) > 30:
        raise _error("too_long", "must have at most 30 characters", "不能超过 30 个字符")
    if _OTHER_ID.fullmatch(value) is None:
        raise _error(
            "invalid_characters", "may contain only letters A-Z, digits, ( ) and -",
            "只能包含英文字母、数字、括号和连字符",
        )
    return value


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def years_before(moment: datetime, years: int) -> datetime:
    """The same instant `years` earlier (28 February for a 29th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


# -- models -----------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hospital(_Model):
    """The reporting hospital."""

    code: HospitalCode = Field(description="Institution registration code")
    name: Text100


class Child(_Model):
    """The newborn."""

    name: PersonName
    sex: Sex = Field(description="GB/T 2261.1: 1 male, 2 female, 9 unstated")
    born_at: PastTimestamp = Field(
        description="ISO 8601 with offset; not in the future, a child's (at most 18 years "
        "ago); more than a year ago, the steps that need a counter are offline"
    )
    birthplace_region: RegionCode
    gestational_weeks: int = Field(strict=True, ge=20, le=45)
    weight_g: int = Field(strict=True, ge=300, le=7000)
    length_cm: float = Field(strict=True, ge=20, le=70, allow_inf_nan=False)
    plurality: int = Field(strict=True, ge=1, le=8, description="Babies born in this birth")
    birth_order: int = Field(strict=True, ge=1, description="1..plurality")
    family_child_number: int | None = Field(
        default=None, strict=True, ge=1, le=10,
        description="Which child of the family this is (1 first, 2 second, ...); benefits read it",
    )

    @field_validator("born_at")
    @classmethod
    def _born_a_child(cls, value: datetime, info: ValidationInfo) -> datetime:
        if _time_rules_apply(info) and value < years_before(_now(info), 18):
            raise _error("too_old", "must not be more than 18 years ago", "不能早于18年前")
        return value

    @field_validator("birth_order")
    @classmethod
    def _order_within_plurality(cls, value: int, info: ValidationInfo) -> int:
        plurality = info.data.get("plurality")
        if plurality is not None and value > plurality:
            raise _error(
                "exceeds_plurality", "must not exceed plurality", "不能大于同胎婴儿数"
            )
        return value


class Parent(_Model):
    """A parent. With a resident ID the number's embedded birth date must fit a parent."""

    name: PersonName
    id_type: IdType
    id_number: str = Field(
        description="resident_id: 18 characters, GB 11643 check digit; others: 5-30 of "
        "A-Z a-z 0-9 ( ) -"
    )
    nationality: Nationality
    ethnicity: Ethnicity | None = Field(
        default=None, validate_default=True,
        description="GB 3304; required when nationality is CHN, except for Hong Kong, Macao "
        "and Taiwan residents (their permits, or resident_id 810000/820000/830000…)",
    )
    phone: MobilePhone | None = None

    @field_validator("id_number")
    @classmethod
    def _number_fits_type(cls, value: str, info: ValidationInfo) -> str:
        id_type = info.data.get("id_type")
        if id_type is None:
            return value
        return _resident_id(value) if id_type == "resident_id" else _other_id(value)

    @field_validator("ethnicity")
    @classmethod
    def _ethnicity_for_citizens(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Mainland citizens only: a Hong Kong, Macao or Taiwan resident (their permit, or
        # a residence permit number starting 810000/820000/830000) has none to give.
        id_type, number = info.data.get("id_type"), info.data.get("id_number")
        from_hk_macao_taiwan = id_type in _PERMIT_TYPES or (
            id_type == "resident_id" and isinstance(number, str) and number[:6] in _PERMIT_REGIONS
        )
        if value is None and info.data.get("nationality") == "CHN" and not from_hk_macao_taiwan:
            raise _error(
                "ethnicity_required", "is required for Chinese citizens", "中国公民必须填写民族"
            )
        return value


class Employment(_Model):
    """The mother's employer and whether she is insured as its employee (the
    maternity allowance reads it)."""

    employer_code: str = Field(description="The employer's unified social credit code (GB 32100)")
    insured: bool = Field(strict=True, description="Insured in the employee maternity scheme")

    @field_validator("employer_code")
    @classmethod
    def _credit_code(cls, value: str) -> str:
        if not uscc.is_valid(value):
            raise _error(
                "invalid_credit_code",
                "must be a valid unified social credit code (18 characters, GB 32100 check)",
                "必须是有效的统一社会信用代码",
            )
        return value


class Mother(Parent):
    """The mother: like any parent, and her mobile phone is required (parents get SMS)."""

    phone: MobilePhone
    employment: Employment | None = None


class Household(_Model):
    """Where the child's household registration (hukou) goes."""

    register_with: RegisterWith = Field(
        description="father requires a father on the record; the parent named must be a "
        "Chinese citizen (nationality CHN) unless neither parent is"
    )
    hukou_region: RegionCode
    hukou_address: Text200
    household_number: HouseholdNumber | None = None


class Insurance(_Model):
    """Medical insurance enrolment."""

    region: RegionCode
    scheme: Literal["resident"]


class MailingAddress(_Model):
    """Where documents and the card are mailed."""

    region: RegionCode
    detail: Text200
    recipient: PersonName


class Contact(_Model):
    """How the family is reached."""

    phone: MobilePhone
    mailing_address: MailingAddress


class Dose(_Model):
    """A vaccine dose given at birth."""

    vaccine: Vaccine
    dose: int = Field(strict=True, ge=1, le=4)
    lot_number: Text40
    given_at: PastTimestamp = Field(description="not before the birth, not in the future")
    site: Text60 | None = None


class Consent(_Model):
    """Who agreed, and when: the mother files; the father authorises his identity data."""

    mother_agreed_at: PastTimestamp
    father_agreed_at: PastTimestamp | None = Field(
        default=None, description="required when a father is on the record"
    )


class CardDelivery(_Model):
    """How the social security card reaches the family."""

    method: DeliveryMethod = Field(
        description="mail: to contact.mailing_address; collect: at a bank branch"
    )
    photo: Photo | None = Field(default=None, description="base64 JPEG, at most 48 KiB encoded")


class BirthEvent(_Model):
    """One birth, as posted by a hospital (contract v1)."""

    schema_version: Literal["1"]
    hospital: Hospital
    hospital_record_id: RecordId = Field(
        description="The hospital's own id; with hospital.code the idempotency key"
    )
    child: Child
    mother: Mother
    father: Parent | None = None
    household: Household
    insurance: Insurance
    contact: Contact
    vaccinations: list[Dose] = Field(max_length=10)
    services: list[Service] = Field(
        default_factory=lambda: list(SERVICES), min_length=1, max_length=len(SERVICES),
        description="The steps the parents asked for (default: all five)",
    )
    consent: Consent
    card_delivery: CardDelivery
    duplicate_of_checked: bool = Field(
        default=False, strict=True,
        description="The hospital confirms this is not a duplicate of a similar birth",
    )

    def asked_for(self, steps: Iterable[str]) -> set[str]:
        """Which of `steps` to run: those the parents chose among the five of
        `services`, and every step that is not theirs to choose."""
        return {step for step in steps if step in self.services or step not in SERVICES}

    @property
    def natural_key(self) -> tuple[str, str]:
        """``(hospital.code, hospital_record_id)``: the idempotency key of a post."""
        return self.hospital.code, self.hospital_record_id

    # Cross-field rules. Fields validate in declaration order; ``info.data`` holds the
    # earlier fields that passed (a failed one is absent, so its dependants are skipped).

    @field_validator("mother", "father")
    @classmethod
    def _parent_age_plausible(cls, parent: Parent | None, info: ValidationInfo) -> Parent | None:
        child = info.data.get("child")
        if parent is None or child is None or parent.id_type != "resident_id":
            return parent
        age = _age(resident_id_birth_date(parent.id_number), child.born_at.date())
        low, high = PARENT_AGE_RANGE
        if not low <= age <= high:
            raise _errors_at([(("id_number",), parent.id_number, _error(
                "implausible_parent_age",
                f"gives a parent age outside {low} to {high} years at the birth",
                f"显示出生时父母年龄不在 {low} 至 {high} 岁之间",
            ))])
        return parent

    @field_validator("household")
    @classmethod
    def _father_to_register_with(cls, household: Household, info: ValidationInfo) -> Household:
        if household.register_with == "father" and "father" in info.data \
                and info.data["father"] is None:
            raise _errors_at([(("register_with",), household.register_with, _error(
                "father_required", "is father but no father is on the record",
                "选择随父落户，但未填写父亲信息",
            ))])
        # A child's hukou goes with a parent who is a Chinese citizen. When neither
        # parent is one there is no hukou to register (the step is not applicable):
        # that is not the hospital's error, so only a foreign declarant beside a
        # Chinese parent is refused.
        parents = {"mother": info.data.get("mother"), "father": info.data.get("father")}
        declarant = parents.get(household.register_with)
        if (
            _time_rules_apply(info)  # a birth stored before this rule still loads
            and declarant is not None
            and declarant.nationality != "CHN"
            and any(p is not None and p.nationality == "CHN" for p in parents.values())
        ):
            raise _errors_at([(("register_with",), household.register_with, _error(
                "citizen_required",
                "names a parent who is not a Chinese citizen; a child's hukou is registered "
                "with a parent who is",
                "落户须随中国公民父母一方办理，所选父母不是中国公民",
            ))])
        return household

    @field_validator("vaccinations")
    @classmethod
    def _doses_after_birth(cls, doses: list[Dose], info: ValidationInfo) -> list[Dose]:
        child = info.data.get("child")
        errors: list[tuple[tuple[str | int, ...], object, PydanticCustomError]] = []
        seen: set[tuple[str, int]] = set()
        for index, dose in enumerate(doses):
            if (dose.vaccine, dose.dose) in seen:
                errors.append(((index,), dose.vaccine, _error(
                    "duplicate_item", "repeats the same vaccine and dose", "重复的疫苗剂次",
                )))
                continue
            seen.add((dose.vaccine, dose.dose))
            if child is not None and dose.given_at < child.born_at:
                errors.append(((index, "given_at"), dose.given_at, _error(
                    "before_birth", "must not be before the birth", "不能早于出生时间",
                )))
        if errors:
            raise _errors_at(errors)
        return doses

    @field_validator("services")
    @classmethod
    def _services_once(cls, services: list[Service]) -> list[Service]:
        errors = [
            ((index,), service, _error("duplicate_item", "is listed twice", "重复出现"))
            for index, service in enumerate(services)
            if service in services[:index]
        ]
        if errors:
            raise _errors_at(errors)
        return services

    @field_validator("consent")
    @classmethod
    def _father_consented(cls, consent: Consent, info: ValidationInfo) -> Consent:
        if consent.father_agreed_at is None and info.data.get("father") is not None:
            raise _errors_at([(("father_agreed_at",), None, _error(
                "consent_required",
                "is required when a father is on the record (he authorises his identity data)",
                "填写了父亲信息时必须有父亲的授权时间",
            ))])
        return consent


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    schema = BirthEvent.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BIRTH_EVENT_SCHEMA_ID,
        **schema,
        "title": "Birth event v1",
        "description": "One birth as posted by a hospital to POST /v1/births "
        "(出生一件事联办 出生事件 v1)",
    }


def birth_event_json_schema(*, schema_id: str | None = None) -> dict[str, Any]:
    """The JSON Schema of :class:`BirthEvent` (a fresh copy), with ``$id`` and a title.

    ``schema_id`` overrides the default ``$id`` (e.g. the deployment's own URL).
    Rules that span fields or need a table (check digits, regions) are not expressible
    in JSON Schema; the validator enforces them.
    """
    schema = copy.deepcopy(_schema())
    if schema_id is not None:
        schema["$id"] = schema_id
    return schema
