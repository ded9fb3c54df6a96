"""The health commission's adapter: issue the birth certificate (answered at once)."""

import structlog

from adapters._runtime.errors import UnsupportedCommandError
from adapters._runtime.patch import amended_fields
from adapters._runtime.records import load_record
from adapters._runtime.replies import completed
from adapters.birth_certificate.client import BirthCertificateClient
from adapters.birth_certificate.mapping import certificate_output, certificate_request
from contracts.commands import AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.records import BirthCertificateRecord
from contracts.replies import StepReply

log = structlog.get_logger()


class BirthCertificateAdapter:
    """`DepartmentAdapter` for `nhc`: submit → `completed {certificate_number}`;
    amend (`bg`, the changed fields) and revoke (`zf`, void) → `completed`."""

    def __init__(self, client: BirthCertificateClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        """Issue the certificate; a refusal raises `PermanentError`."""
        record = load_record(BirthCertificateRecord, cmd.record)
        log.debug("adapter.nhc.submitting")
        issued = await self._client.issue(certificate_request(record), key=cmd.idempotency_key)
        log.debug("adapter.nhc.submitted", reference=issued.zmbh)
        return completed(certificate_output(issued), reference=issued.zmbh)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        """nhc answers at once: there is nothing to poll."""
        raise UnsupportedCommandError("nhc answers at once; there is nothing to poll")

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        """Send the changed fields; nothing when the certificate's fields are the same."""
        changes = amended_fields(BirthCertificateRecord, certificate_request, cmd)
        if changes:
            await self._client.amend(cmd.reference, changes, key=cmd.idempotency_key)
        log.info("adapter.nhc.amended", reference=cmd.reference, fields=len(changes))
        return completed({}, reference=cmd.reference)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        """Void the certificate."""
        await self._client.void(cmd.reference, cmd.reason, key=cmd.idempotency_key)
        log.info("adapter.nhc.voided", reference=cmd.reference)
        return completed({}, reference=cmd.reference)
