"""The immunisation registry's adapter: register the birth doses (answered at once)."""

import structlog

from adapters._runtime.errors import UnsupportedCommandError
from adapters._runtime.records import load_record
from adapters._runtime.replies import completed
from adapters.vaccination_record.client import VaccinationClient
from adapters.vaccination_record.mapping import (
    cancellation_xml,
    registration_xml,
    vaccination_output,
)
from contracts.commands import AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.records import VaccinationRecord
from contracts.replies import StepReply

log = structlog.get_logger()


class VaccinationAdapter:
    """`DepartmentAdapter` for `cdc`: submit → `completed {record_number}`; amend
    (`update`, the whole registration) and revoke (`cancel`) → `completed`."""

    def __init__(self, client: VaccinationClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        """Register the record; a refusal raises `PermanentError`."""
        record = load_record(VaccinationRecord, cmd.record)
        log.debug("adapter.cdc.submitting", doses=len(record.doses))
        number = await self._client.register(registration_xml(record), key=cmd.idempotency_key)
        log.debug("adapter.cdc.submitted", reference=number)
        return completed(vaccination_output(number), reference=number)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        """cdc answers at once: there is nothing to poll."""
        raise UnsupportedCommandError("cdc answers at once; there is nothing to poll")

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        """Send the corrected registration; nothing when it reads the same."""
        held = registration_xml(load_record(VaccinationRecord, cmd.previous))
        record = load_record(VaccinationRecord, cmd.record)
        if registration_xml(record) != held:
            update = registration_xml(record, record_no=cmd.reference)
            await self._client.update(update, key=cmd.idempotency_key)
            log.info("adapter.cdc.amended", reference=cmd.reference)
        return completed({}, reference=cmd.reference)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        """Cancel the record."""
        cancellation = cancellation_xml(cmd.reference, cmd.reason)
        await self._client.cancel(cancellation, key=cmd.idempotency_key)
        log.info("adapter.cdc.cancelled", reference=cmd.reference)
        return completed({}, reference=cmd.reference)
