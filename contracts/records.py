"""Department-neutral records: what each step sends, before an adapter maps it
to its department's own format. Built by the saga plan from the birth event and
the outputs of earlier steps."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.birth import Child, Dose, Parent


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BirthCertificateRecord(_Record):
    """For the health commission: the birth and both parents."""

    hospital_code: str
    hospital_name: str
    child: Child
    mother: Parent
    father: Parent | None


class VaccinationRecord(_Record):
    """For the immunisation registry: the child, a guardian and the birth doses."""

    hospital_code: str
    child: Child
    guardian: Parent
    doses: list[Dose]


class HouseholdRegistrationRecord(_Record):
    """For public security: register the child with one parent's hukou."""

    certificate_number: str
    child: Child
    declarant: Parent
    relation: Literal["mother", "father"]
    hukou_region: str
    hukou_address: str
    household_number: str | None


class MedicalInsuranceRecord(_Record):
    """For healthcare security: enrol the child, covered from birth."""

    citizen_id: str
    name: str
    sex: Literal["1", "2", "9"]
    birth_date: date
    region: str
    scheme: Literal["resident"]


class MailingAddress(_Record):
    """Where a card is mailed."""

    region: str
    detail: str
    recipient: str
    phone: str


class SocialSecurityCardRecord(_Record):
    """For human resources and social security: apply for the child's card."""

    citizen_id: str
    insurance_number: str | None
    name: str
    sex: Literal["1", "2", "9"]
    birth_date: date
    delivery: Literal["mail", "collect"]
    mailing_address: MailingAddress | None
    photo: str | None


class ProgrammeAsked(_Record):
    """A childcare subsidy programme the birth is eligible for, as decided here."""

    code: str
    monthly_amount_fen: int
    first_month: str  # YYYY-MM
    last_month: str


class ChildcareSubsidyRecord(_Record):
    """For the county health commission: grant the programmes the child is eligible
    for, paid to the child's social security card."""

    citizen_id: str
    card: str  # the card number, or its application number until the card is made
    name: str
    birth_date: date
    hukou_region: str
    family_child_number: int | None
    guardian_name: str
    programmes: list[ProgrammeAsked]


class MaternityAllowanceRecord(_Record):
    """For the employee maternity scheme: the mother, her employer and the birth."""

    mother_name: str
    mother_id_type: str
    mother_id_number: str
    employer_code: str
    birth_date: date
    plurality: int


StepRecord = (
    BirthCertificateRecord
    | VaccinationRecord
    | HouseholdRegistrationRecord
    | MedicalInsuranceRecord
    | SocialSecurityCardRecord
    | ChildcareSubsidyRecord
    | MaternityAllowanceRecord
)
