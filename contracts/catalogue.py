"""The five registrations of a birth, declared once each (SPEC §4, §11).

`builtin_registry()` is the registry of a deployment that runs them; a
deployment or a test adds its own steps with `Registry.with_steps`.
"""

# Chinese text uses full-width punctuation on purpose.

from dataclasses import replace
from datetime import date, timedelta

from stdnum.cn import ric

from contracts.birth import BirthEvent, years_before
from contracts.records import (
    BirthCertificateRecord,
    HouseholdRegistrationRecord,
    MailingAddress,
    MedicalInsuranceRecord,
    SocialSecurityCardRecord,
    StepRecord,
    VaccinationRecord,
)
from contracts.registry import (
    CST,
    LegalDeadline,
    Registry,
    RuleContext,
    StepSpec,
    StepTexts,
    Taken,
    first_of,
    text,
)


def local_birth_date(event: BirthEvent) -> date:
    """The date on Chinese documents: the birth date in China Standard Time."""
    return event.child.born_at.astimezone(CST).date()


def taken(values: Taken, key: str) -> str:
    """An output the step cannot do without."""
    value = values.get(key)
    if not value:
        raise KeyError(f"{key} is needed but not there")
    return value


def one_month_later(day: date) -> date:
    """The same day next month, or that month's last day (31 Jan → 28/29 Feb)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def ninety_days_later(day: date) -> date:
    return day + timedelta(days=90)


def _within_a_year(event: BirthEvent, context: RuleContext) -> str | None:
    """Registered more than a year after the birth, a step is done in person (SPEC §3)."""
    if context.now and event.child.born_at < years_before(context.now, 1):
        return (
            "reported more than a year after the birth: apply in person with the "
            "birth medical certificate, both parents' ID documents and the household register"
        )
    return None


# -- birth_certificate ----------------------------------------------------------------


def _birth_certificate(event: BirthEvent, _taken: Taken) -> StepRecord:
    return BirthCertificateRecord(
        hospital_code=event.hospital.code,
        hospital_name=event.hospital.name,
        child=event.child,
        mother=event.mother,
        father=event.father,
    )


BIRTH_CERTIFICATE = StepSpec(
    name="birth_certificate",
    department="nhc",
    command="IssueBirthCertificate",
    record=_birth_certificate,
    online=_within_a_year,
    gives={"certificate_number": text("证明编号", "Certificate number")},
    texts=StepTexts(
        title=text("出生医学证明", "Birth medical certificate"),
        office=text("出生医院", "the hospital where your baby was born"),
    ),
)

# -- vaccination_record ---------------------------------------------------------------


def _vaccination_record(event: BirthEvent, _taken: Taken) -> StepRecord:
    return VaccinationRecord(
        hospital_code=event.hospital.code,
        child=event.child,
        guardian=event.mother,
        doses=event.vaccinations,
    )


VACCINATION_RECORD = StepSpec(
    name="vaccination_record",
    department="cdc",
    command="RegisterVaccination",
    record=_vaccination_record,
    gives={"record_number": text("接种证编号", "Record number")},
    texts=StepTexts(
        title=text("预防接种证", "Vaccination record"),
        office=text("辖区预防接种门诊", "your local vaccination clinic"),
    ),
)

# -- household_registration -----------------------------------------------------------


def _household_registration(event: BirthEvent, values: Taken) -> StepRecord:
    relation = event.household.register_with
    declarant = event.father if relation == "father" and event.father else event.mother
    return HouseholdRegistrationRecord(
        certificate_number=taken(values, "certificate_number"),
        child=event.child,
        declarant=declarant,
        relation=relation,
        hukou_region=event.household.hukou_region,
        hukou_address=event.household.hukou_address,
        household_number=event.household.household_number,
    )


def _a_chinese_parent(event: BirthEvent, _context: RuleContext) -> str | None:
    """A child's hukou is registered with a parent who is a Chinese citizen."""
    parents = [event.mother, event.father] if event.father else [event.mother]
    if any(parent.nationality == "CHN" for parent in parents):
        return None
    return "neither parent is a Chinese citizen: a child's hukou needs one"


def _hukou_here(event: BirthEvent, context: RuleContext) -> str | None:
    if context.jurisdiction and not event.household.hukou_region.startswith(context.jurisdiction):
        return "hukou outside this province: register at the counter"
    return None


def _citizen_id_of_this_child(event: BirthEvent, output: Taken) -> str | None:
    """GB 11643: the household's region, the birth date in China, the child's sex."""
    number = output.get("citizen_id") or ""
    if not ric.is_valid(number):
        return f"citizen_id {number[:32]!r} is not a valid GB 11643 number"
    if number[:6] != event.household.hukou_region:
        return (
            f"citizen_id is of region {number[:6]}, not the hukou's {event.household.hukou_region}"
        )
    if number[6:14] != f"{local_birth_date(event):%Y%m%d}":
        return f"citizen_id gives birth date {number[6:14]}, not {local_birth_date(event):%Y%m%d}"
    if int(number[16]) % 2 != (1 if event.child.sex == "1" else 0):
        return "citizen_id is of the other sex"
    return None


HOUSEHOLD_REGISTRATION = StepSpec(
    name="household_registration",
    department="mps",
    command="RegisterHousehold",
    record=_household_registration,
    needs=("birth_certificate",),
    takes=("birth_certificate.certificate_number",),
    gives={"citizen_id": text("公民身份号码", "Citizen ID number")},
    verify=_citizen_id_of_this_child,
    eligible=_a_chinese_parent,
    online=first_of(_within_a_year, _hukou_here),
    deadline=LegalDeadline(
        one_month_later,
        "one month after the birth",
        text("出生后一个月内", "within one month of the birth"),
    ),
    answers_later=True,
    compensation="withdraw",
    fixed_once_sent=("household.register_with",),
    texts=StepTexts(
        title=text("户口登记", "Household registration"),
        office=text("户籍所在地派出所户籍窗口", "the household registration office"),
    ),
)

# -- medical_insurance ----------------------------------------------------------------


def _medical_insurance(event: BirthEvent, values: Taken) -> StepRecord:
    return MedicalInsuranceRecord(
        citizen_id=taken(values, "citizen_id"),
        name=event.child.name,
        sex=event.child.sex,
        birth_date=local_birth_date(event),
        region=event.insurance.region,
        scheme=event.insurance.scheme,
    )


def _insured_here(event: BirthEvent, context: RuleContext) -> str | None:
    if context.jurisdiction and not event.insurance.region.startswith(context.jurisdiction):
        return "insurance outside this province: enrol at the counter"
    return None


MEDICAL_INSURANCE = StepSpec(
    name="medical_insurance",
    department="nhsa",
    command="EnrolMedicalInsurance",
    record=_medical_insurance,
    needs=("household_registration",),
    takes=("household_registration.citizen_id",),
    gives={"insurance_number": text("参保编号", "Insurance number")},
    online=first_of(_within_a_year, _insured_here),
    deadline=LegalDeadline(
        ninety_days_later,
        "90 days after the birth",
        text("出生后90天内", "within 90 days of the birth"),
    ),
    compensation="stop",
    texts=StepTexts(
        title=text("医保参保", "Medical insurance"),
        office=text("医保经办窗口", "the medical insurance office"),
    ),
)

# -- social_security_card -------------------------------------------------------------


def _social_security_card(event: BirthEvent, values: Taken) -> StepRecord:
    address = event.contact.mailing_address
    mail = event.card_delivery.method == "mail"
    return SocialSecurityCardRecord(
        citizen_id=taken(values, "citizen_id"),
        insurance_number=values.get("insurance_number"),
        name=event.child.name,
        sex=event.child.sex,
        birth_date=local_birth_date(event),
        delivery=event.card_delivery.method,
        mailing_address=MailingAddress(
            region=address.region,
            detail=address.detail,
            recipient=address.recipient,
            phone=event.contact.phone,
        )
        if mail
        else None,
        photo=event.card_delivery.photo,
    )


SOCIAL_SECURITY_CARD = StepSpec(
    name="social_security_card",
    department="hrss",
    command="ApplySocialSecurityCard",
    record=_social_security_card,
    needs=("household_registration", "medical_insurance"),
    # The insurance number goes along when insurance is done, even where the
    # card does not wait for it.
    takes=("household_registration.citizen_id", "medical_insurance.insurance_number"),
    gives={
        "application_number": text("申请编号", "Application number"),
        "card_number": text("卡号", "Card number"),
        "mailed_at": text("寄出日期", "Mailed on"),
    },
    answers_later=True,
    texts=StepTexts(
        title=text("社会保障卡", "Social security card"),
        office=text("社保卡服务网点", "a social security card service point"),
    ),
)

BUILTIN_STEPS = (
    BIRTH_CERTIFICATE,
    VACCINATION_RECORD,
    HOUSEHOLD_REGISTRATION,
    MEDICAL_INSURANCE,
    SOCIAL_SECURITY_CARD,
)

BUILTIN_DEPARTMENTS = Registry(BUILTIN_STEPS).departments


def builtin_registry(*, card_waits_for_insurance: bool = True) -> Registry:
    """The five registrations; whether the card waits for insurance is a
    setting per province (SPEC §4)."""
    registry = Registry(BUILTIN_STEPS)
    if card_waits_for_insurance:
        return registry
    return registry.with_steps(replace(SOCIAL_SECURITY_CARD, needs=("household_registration",)))
