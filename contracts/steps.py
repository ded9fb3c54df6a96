"""The five steps of a birth, the departments that do them, and their states."""

from enum import StrEnum


class Step(StrEnum):
    """A step of the saga, named after what it produces."""

    BIRTH_CERTIFICATE = "birth_certificate"
    VACCINATION_RECORD = "vaccination_record"
    HOUSEHOLD_REGISTRATION = "household_registration"
    MEDICAL_INSURANCE = "medical_insurance"
    SOCIAL_SECURITY_CARD = "social_security_card"


class Department(StrEnum):
    """A department by its short name (queue, sandbox path, callback path)."""

    NHC = "nhc"
    CDC = "cdc"
    MPS = "mps"
    NHSA = "nhsa"
    HRSS = "hrss"


DEPARTMENT_OF: dict[Step, Department] = {
    Step.BIRTH_CERTIFICATE: Department.NHC,
    Step.VACCINATION_RECORD: Department.CDC,
    Step.HOUSEHOLD_REGISTRATION: Department.MPS,
    Step.MEDICAL_INSURANCE: Department.NHSA,
    Step.SOCIAL_SECURITY_CARD: Department.HRSS,
}
STEP_OF: dict[Department, Step] = {dept: step for step, dept in DEPARTMENT_OF.items()}


class StepState(StrEnum):
    """Where a step stands (SPEC §4)."""

    WAITING = "waiting"
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    AWAITING_DEPARTMENT = "awaiting_department"
    COMPLETED = "completed"
    RETRYING = "retrying"
    REJECTED = "rejected"
    FAILED = "failed"
    SKIPPED = "skipped"
    OFFLINE = "offline"
    CANCELLED = "cancelled"
    COMPENSATED = "compensated"


# Nothing moves a step out of these except an explicit operator action.
FINAL_STEP_STATES = frozenset(
    {
        StepState.COMPLETED,
        StepState.SKIPPED,
        StepState.OFFLINE,
        StepState.CANCELLED,
        StepState.COMPENSATED,
    }
)
# The step needs a person: a correction (rejected) or an operator (failed).
NEEDS_ACTION_STATES = frozenset({StepState.REJECTED, StepState.FAILED})


class BirthStatus(StrEnum):
    """Where a whole birth stands."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ACTION_REQUIRED = "action_required"
    CANCELLED = "cancelled"
