"""Commands the orchestrator sends to a department's adapter (imperative names).

Routing key on `birthlink.commands`: `<department>.<action>`: `submit` (do the
step), `poll` (how does an accepted request stand), `amend` (change what the
department holds after a correction), `revoke` (undo it: void, cancel, stop or
withdraw, when a birth is cancelled). Each carries its own stable idempotency key.
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
AMEND_TYPE = "AmendStep"
REVOKE_TYPE = "RevokeStep"

Action = Literal["submit", "poll", "amend", "revoke"]


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


class AmendStep(BaseModel):
    """Change what the department holds: `previous` is the record it has, `record`
    the corrected one (both contracts.records JSON); the adapter sends the
    difference in the department's format. `reference` is the department's id of
    the request; the key is `<birth id>:<step>:amend:<event version>`."""

    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    reference: str
    previous: dict[str, Any]
    record: dict[str, Any]


class RevokeStep(BaseModel):
    """Undo the step at the department (the birth was reported in error): void the
    certificate, cancel the vaccination record or card application, stop the
    insurance, withdraw the household registration. The key is
    `<birth id>:<step>:revoke`."""

    model_config = ConfigDict(frozen=True)

    idempotency_key: str
    reference: str
    reason: str


def routing_key(department: str, action: Action) -> str:
    """`nhc.submit`, `mps.poll`, `nhsa.amend`, `hrss.revoke`, …"""
    return f"{department}.{action}"
