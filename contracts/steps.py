"""Where a step and a whole birth stand (SPEC §4). The steps themselves are
declared in a registry (contracts.registry)."""

from enum import StrEnum


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
    NOT_APPLICABLE = "not_applicable"
    AWAITING_PARENTS = "awaiting_parents"  # a benefit waits for the parents to confirm


# Nothing moves a step out of these except an explicit operator action.
FINAL_STEP_STATES = frozenset(
    {
        StepState.COMPLETED,
        StepState.SKIPPED,
        StepState.OFFLINE,
        StepState.CANCELLED,
        StepState.COMPENSATED,
        StepState.NOT_APPLICABLE,
    }
)
# The step needs a person: a correction (rejected) or an operator (failed).
NEEDS_ACTION_STATES = frozenset({StepState.REJECTED, StepState.FAILED})


class BirthStatus(StrEnum):
    """Where a whole birth stands."""

    @property
    def cancel_asked(self) -> bool:
        return self in (BirthStatus.CANCELLING, BirthStatus.CANCELLED)

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ACTION_REQUIRED = "action_required"
    CANCELLING = "cancelling"  # cancel asked; departments still hold something
    CANCELLED = "cancelled"  # nothing is left at any department
