"""Public security's adapter: file the hukou application, poll its review."""

import structlog

from adapters._runtime.patch import amended_fields
from adapters._runtime.records import load_record
from adapters._runtime.replies import accepted, completed
from adapters.household_registration.client import HouseholdClient
from adapters.household_registration.mapping import (
    accepted_reply,
    application_request,
    status_reply,
)
from contracts.commands import AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.records import HouseholdRegistrationRecord
from contracts.replies import StepReply

log = structlog.get_logger()


class HouseholdRegistrationAdapter:
    """`DepartmentAdapter` for `mps`: submit → `accepted` (`reference` = `sqbh`);
    poll → `completed {citizen_id}`, `pending` or `rejected`; amend (`bg`, the
    changed fields) → `completed`, or `accepted` when it goes back to review;
    revoke (`withdraw`) → `completed`."""

    def __init__(self, client: HouseholdClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        """File the application; a refusal raises `PermanentError`."""
        record = load_record(HouseholdRegistrationRecord, cmd.record)
        log.debug("adapter.mps.submitting")
        answer = await self._client.apply(application_request(record), key=cmd.idempotency_key)
        log.debug("adapter.mps.submitted", reference=answer.sqbh, status=answer.zt)
        return accepted_reply(answer)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        """Ask how the review stands."""
        status = await self._client.status(cmd.reference)
        log.debug("adapter.mps.polled", reference=status.sqbh, status=status.zt)
        return status_reply(status)

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        """Send the changed fields; nothing when the application's fields are the same."""
        changes = amended_fields(HouseholdRegistrationRecord, application_request, cmd)
        if not changes:
            return completed({}, reference=cmd.reference)
        status = await self._client.amend(cmd.reference, changes, key=cmd.idempotency_key)
        log.info("adapter.mps.amended", reference=cmd.reference, status=status.zt)
        if status.zt == "pending":  # sent back to review: the answer comes later
            return accepted(cmd.reference)
        return completed({}, reference=cmd.reference)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        """Withdraw the application."""
        await self._client.withdraw(cmd.reference, cmd.reason, key=cmd.idempotency_key)
        log.info("adapter.mps.withdrawn", reference=cmd.reference)
        return completed({}, reference=cmd.reference)
