"""Commands the orchestrator sends to a department's adapter (imperative names).

Routing key on `birthlink.commands`: `<department>.<action>`.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts.steps import Step

SUBMIT_TYPES: dict[Step, str] = {
    Step.BIRTH_CERTIFICATE: "IssueBirthCertificate",
    Step.VACCINATION_RECORD: "RegisterVaccination",
    Step.HOUSEHOLD_REGISTRATION: "RegisterHousehold",
    Step.MEDICAL_INSURANCE: "EnrolMedicalInsurance",
    Step.SOCIAL_SECURITY_CARD: "ApplySocialSecurityCard",
}
POLL_TYPE = "PollDepartment"

Action = Literal["submit", "poll"]


class SubmitStep(BaseModel):
    """Do the step at the department. `record` is the step's record (contracts.records)
    as JSON; `idempotency_key` is `<birth id>:<step>`, the same on every attempt."""

    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    record: dict[str, Any]


class PollDepartment(BaseModel):
    """Ask the department how an accepted request stands (no callback came in time)."""

    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    reference: str


def routing_key(department: str, action: Action) -> str:
    """`nhc.submit`, `mps.poll`, …"""
    return f"{department}.{action}"
