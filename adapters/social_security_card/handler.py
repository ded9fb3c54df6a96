"""The social security card adapter: apply for the card, poll until it is made."""

import structlog

from adapters._runtime.patch import amended_fields
from adapters._runtime.records import load_record
from adapters._runtime.replies import completed
from adapters.social_security_card.client import CardClient
from adapters.social_security_card.mapping import (
    accepted_reply,
    application_request,
    status_reply,
)
from contracts.commands import AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.records import SocialSecurityCardRecord
from contracts.replies import StepReply

log = structlog.get_logger()


class SocialSecurityCardAdapter:
    """`DepartmentAdapter` for `hrss`: submit → `accepted` (`reference` = `sqh`);
    poll → `completed {card_number, mailed_at, application_number}` or `pending`;
    amend (`update`, the changed fields) and revoke (`cancel`) → `completed`."""

    def __init__(self, client: CardClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        """Apply for the card; a refusal raises `PermanentError`."""
        record = load_record(SocialSecurityCardRecord, cmd.record)
        log.debug("adapter.hrss.submitting", delivery=record.delivery)
        answer = await self._client.apply(application_request(record), key=cmd.idempotency_key)
        log.debug("adapter.hrss.submitted", reference=answer.sqh, status=answer.zt)
        return accepted_reply(answer)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        """Ask whether the card is made."""
        status = await self._client.status(cmd.reference)
        log.debug("adapter.hrss.polled", reference=status.sqh, status=status.zt)
        return status_reply(status)

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        """Send the changed fields; nothing when the application's fields are the same."""
        changes = amended_fields(SocialSecurityCardRecord, application_request, cmd)
        if changes:
            await self._client.update(cmd.reference, changes, key=cmd.idempotency_key)
        log.info("adapter.hrss.amended", reference=cmd.reference, fields=len(changes))
        return completed({}, reference=cmd.reference)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        """Cancel the application."""
        await self._client.cancel(cmd.reference, cmd.reason, key=cmd.idempotency_key)
        log.info("adapter.hrss.cancelled", reference=cmd.reference)
        return completed({}, reference=cmd.reference)
