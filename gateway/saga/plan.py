"""The step DAG: what each step depends on, and the record it sends.

A step starts when everything it depends on is `completed`; its record is built
from the birth event and the outputs of earlier steps.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta, timezone

from contracts.birth import BirthEvent
from contracts.records import (
    BirthCertificateRecord,
    HouseholdRegistrationRecord,
    MailingAddress,
    MedicalInsuranceRecord,
    SocialSecurityCardRecord,
    StepRecord,
    VaccinationRecord,
)
from contracts.steps import Step, StepState

CST = timezone(timedelta(hours=8), "CST")
Outputs = Mapping[Step, Mapping[str, str | None]]


def _birth_certificate(event: BirthEvent, _outputs: Outputs) -> StepRecord:
    return BirthCertificateRecord(
        hospital_code=event.hospital.code,
        hospital_name=event.hospital.name,
        child=event.child,
        mother=event.mother,
        father=event.father,
    )


def _vaccination_record(event: BirthEvent, _outputs: Outputs) -> StepRecord:
    return VaccinationRecord(
        hospital_code=event.hospital.code,
        child=event.child,
        guardian=event.mother,
        doses=event.vaccinations,
    )


def _household_registration(event: BirthEvent, outputs: Outputs) -> StepRecord:
    relation = event.household.register_with
    declarant = event.father if relation == "father" and event.father else event.mother
    return HouseholdRegistrationRecord(
        certificate_number=_needed(outputs, Step.BIRTH_CERTIFICATE, "certificate_number"),
        child=event.child,
        declarant=declarant,
        relation=relation,
        hukou_region=event.household.hukou_region,
        hukou_address=event.household.hukou_address,
        household_number=event.household.household_number,
    )


def _medical_insurance(event: BirthEvent, outputs: Outputs) -> StepRecord:
    return MedicalInsuranceRecord(
        citizen_id=_needed(outputs, Step.HOUSEHOLD_REGISTRATION, "citizen_id"),
        name=event.child.name,
        sex=event.child.sex,
        birth_date=_local_birth_date(event),
        region=event.insurance.region,
        scheme=event.insurance.scheme,
    )


def _social_security_card(event: BirthEvent, outputs: Outputs) -> StepRecord:
    address = event.contact.mailing_address
    mail = event.card_delivery.method == "mail"
    return SocialSecurityCardRecord(
        citizen_id=_needed(outputs, Step.HOUSEHOLD_REGISTRATION, "citizen_id"),
        insurance_number=outputs.get(Step.MEDICAL_INSURANCE, {}).get("insurance_number"),
        name=event.child.name,
        sex=event.child.sex,
        birth_date=_local_birth_date(event),
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


def _needed(outputs: Outputs, step: Step, key: str) -> str:
    value = outputs.get(step, {}).get(key)
    if not value:
        raise KeyError(f"{step}.{key} is needed but not there")
    return value


def _local_birth_date(event: BirthEvent) -> date:
    # The date on Chinese documents is the date in China Standard Time.
    return event.child.born_at.astimezone(CST).date()


@dataclass(frozen=True)
class StepSpec:
    """A step: what it waits for, and how its record is built."""

    step: Step
    depends_on: tuple[Step, ...]
    build: Callable[[BirthEvent, Outputs], StepRecord]


@dataclass(frozen=True)
class Plan:
    """The DAG of one deployment (whether the card waits for insurance is a setting)."""

    specs: Mapping[Step, StepSpec]

    def depends_on(self, step: Step) -> tuple[Step, ...]:
        return self.specs[step].depends_on

    def dependants(self, step: Step) -> list[Step]:
        return [s for s, spec in self.specs.items() if step in spec.depends_on]

    def ready(self, states: Mapping[Step, StepState]) -> list[Step]:
        """Waiting steps whose dependencies are all completed."""
        return [
            step
            for step, state in states.items()
            if state == StepState.WAITING
            and all(states[dep] == StepState.COMPLETED for dep in self.depends_on(step))
        ]

    def record(self, step: Step, event: BirthEvent, outputs: Outputs) -> StepRecord:
        return self.specs[step].build(event, outputs)

    def initial_states(
        self, event: BirthEvent, jurisdiction: str | None
    ) -> dict[Step, tuple[StepState, str | None]]:
        """Each step's first state and why: skipped when not asked for or when a
        step it needs is skipped; offline when it cannot be done online here."""
        asked = set(event.services)
        outside = _outside_jurisdiction(event, jurisdiction)
        states: dict[Step, tuple[StepState, str | None]] = {}
        for step in Step:  # declaration order is a topological order
            blocked = [
                states[dep] for dep in self.depends_on(step) if states[dep][0] != StepState.WAITING
            ]
            if step not in asked:
                states[step] = (StepState.SKIPPED, "not asked for")
            elif step in outside:
                states[step] = (StepState.OFFLINE, outside[step])
            elif blocked:
                state, _ = blocked[0]
                states[step] = (state, "a step it needs is " + state.value)
            else:
                states[step] = (StepState.WAITING, None)
        return states


def _outside_jurisdiction(event: BirthEvent, jurisdiction: str | None) -> dict[Step, str]:
    if not jurisdiction:
        return {}
    outside: dict[Step, str] = {}
    if not event.household.hukou_region.startswith(jurisdiction):
        outside[Step.HOUSEHOLD_REGISTRATION] = (
            "hukou outside this province: register at the counter"
        )
    if not event.insurance.region.startswith(jurisdiction):
        outside[Step.MEDICAL_INSURANCE] = "insurance outside this province: enrol at the counter"
    return outside


def make_plan(*, card_waits_for_insurance: bool = True) -> Plan:
    card_needs: tuple[Step, ...] = (Step.HOUSEHOLD_REGISTRATION,)
    if card_waits_for_insurance:
        card_needs += (Step.MEDICAL_INSURANCE,)
    specs = (
        StepSpec(Step.BIRTH_CERTIFICATE, (), _birth_certificate),
        StepSpec(Step.VACCINATION_RECORD, (), _vaccination_record),
        StepSpec(Step.HOUSEHOLD_REGISTRATION, (Step.BIRTH_CERTIFICATE,), _household_registration),
        StepSpec(Step.MEDICAL_INSURANCE, (Step.HOUSEHOLD_REGISTRATION,), _medical_insurance),
        StepSpec(Step.SOCIAL_SECURITY_CARD, card_needs, _social_security_card),
    )
    return Plan({spec.step: spec for spec in specs})
