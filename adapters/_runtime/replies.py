"""Building `StepReply`s in handlers.

Handlers do not know the command's `message_id` (the `DepartmentAdapter` methods
get the command's data, not its envelope), so they leave `command_id` empty and
the worker stamps it (`AdapterWorker`) before publishing.
"""

from contracts.replies import StepReply

UNSTAMPED = ""
"""`command_id` of a reply the worker has not stamped yet."""


def completed(output: dict[str, str | None], *, reference: str | None = None) -> StepReply:
    """The step is done; `output` is what it gives to the saga."""
    return StepReply(outcome="completed", output=output, reference=reference, command_id=UNSTAMPED)


def accepted(reference: str, output: dict[str, str | None] | None = None) -> StepReply:
    """The department took the request and will answer later (callback or poll)."""
    return StepReply(
        outcome="accepted", reference=reference, output=output or {}, command_id=UNSTAMPED
    )


def pending(reference: str) -> StepReply:
    """A poll found the request still under way."""
    return StepReply(outcome="pending", reference=reference, command_id=UNSTAMPED)


def rejected(reason: str, *, reference: str | None = None) -> StepReply:
    """The department refused the data: a correction is needed."""
    return StepReply(outcome="rejected", reason=reason, reference=reference, command_id=UNSTAMPED)


def transient(reason: str, *, retry_after_s: float | None = None) -> StepReply:
    """The department could not be reached or answered unreadably; try again later."""
    return StepReply(
        outcome="transient", reason=reason, retry_after_s=retry_after_s, command_id=UNSTAMPED
    )
