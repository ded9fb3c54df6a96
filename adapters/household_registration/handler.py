"""Public security's adapter: file the hukou application, poll its review."""

import structlog

from adapters._runtime.records import load_record
from adapters.household_registration.client import HouseholdClient
from adapters.household_registration.mapping import (
    accepted_reply,
    application_request,
    status_reply,
)
from contracts.commands import PollDepartment, SubmitStep
from contracts.records import HouseholdRegistrationRecord
from contracts.replies import StepReply
from contracts.steps import Step

log = structlog.get_logger()


class HouseholdRegistrationAdapter:
    """`DepartmentAdapter` for `mps`: submit → `accepted` (`reference` = `sqbh`);
    poll → `completed {citizen_id}`, `pending` or `rejected`."""

    def __init__(self, client: HouseholdClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: Step) -> StepReply:
        """File the application; a refusal raises `PermanentError`."""
        record = load_record(HouseholdRegistrationRecord, cmd.record)
        log.info("adapter.mps.submitting")
        answer = await self._client.apply(application_request(record), key=cmd.idempotency_key)
        log.info("adapter.mps.submitted", reference=answer.sqbh, status=answer.zt)
        return accepted_reply(answer)

    async def poll(self, cmd: PollDepartment, *, step: Step) -> StepReply:
        """Ask how the review stands."""
        status = await self._client.status(cmd.reference)
        log.info("adapter.mps.polled", reference=status.sqbh, status=status.zt)
        return status_reply(status)
