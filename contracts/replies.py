"""Replies from adapters to the orchestrator (past-tense names).

A refusal by the department is a reply (`rejected`), not an exception; only a
bug in the adapter raises. Routing key on `birthlink.results`:
`<department>.<outcome>`.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.commands import Action

Outcome = Literal["completed", "accepted", "pending", "rejected", "transient"]

REPLY_TYPES: dict[str, str] = {
    "completed": "StepCompleted",
    "accepted": "StepAccepted",
    "pending": "StepStillPending",
    "rejected": "StepRejected",
    "transient": "StepFailedTransiently",
}


class StepReply(BaseModel):
    """What came of one command.

    - `completed`: done; `output` holds what the step gives (certificate_number…).
    - `accepted`: the department took it and answers later; `reference` is its id
      (and `output` what is already known, e.g. the card's application_number).
    - `pending`: a poll found it still under review.
    - `rejected`: the department refused the data; `reason` says why.
    - `transient`: the department could not be reached or was overloaded after the
      in-call retries; `retry_after_s` when it said how long to wait.

    `operation` says which action it answers (contracts.commands): the step's
    submission (also for a poll of it, or a department's callback), an
    amendment, or a revocation; the saga applies an answer only to the action
    it is waiting for.
    """

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    output: dict[str, str | None] = Field(default_factory=dict)
    reference: str | None = None
    reason: str | None = None
    retry_after_s: float | None = None
    command_id: str
    operation: Action = "submit"
