"""Healthcare security's adapter: enrol the child (answered at once)."""

import structlog

from adapters._runtime.errors import UnsupportedCommandError
from adapters._runtime.patch import amended_fields
from adapters._runtime.records import load_record
from adapters._runtime.replies import completed
from adapters._runtime.worker import DepartmentAdapter
from adapters.medical_insurance.client import InsuranceClient
from adapters.medical_insurance.mapping import enrolment_output, enrolment_request
from contracts.commands import AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.records import MedicalInsuranceRecord
from contracts.replies import StepReply

log = structlog.get_logger()

MATERNITY = "maternity_allowance"


class MedicalInsuranceAdapter:
    """`DepartmentAdapter` for `nhsa`: submit → `completed {insurance_number}`; a
    `409` (already enrolled under another key) is a refusal like a `400`. The
    `psn_no` is the step's reference: amend (`update`) and revoke (`stop`) use it.
    The same bureau's employee maternity scheme (`maternity_allowance`) is handed
    to `maternity`."""

    def __init__(
        self, client: InsuranceClient, *, maternity: DepartmentAdapter | None = None
    ) -> None:
        self._client = client
        self._maternity = maternity

    def _other(self, step: str) -> DepartmentAdapter | None:
        if step == MATERNITY and self._maternity is not None:
            return self._maternity
        return None

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        """Enrol; a refusal raises `PermanentError`."""
        if other := self._other(step):
            return await other.submit(cmd, step=step)
        record = load_record(MedicalInsuranceRecord, cmd.record)
        log.debug("adapter.nhsa.submitting", scheme=record.scheme)
        enrolled = await self._client.enrol(enrolment_request(record), key=cmd.idempotency_key)
        # psn_no is a personal number: logged by its absence only.
        log.debug("adapter.nhsa.submitted")
        return completed(enrolment_output(enrolled), reference=enrolled.psn_no)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        """nhsa answers at once: there is nothing to poll."""
        if other := self._other(step):
            return await other.poll(cmd, step=step)
        raise UnsupportedCommandError("nhsa answers at once; there is nothing to poll")

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        """Send the changed fields; nothing when the enrolment's fields are the same."""
        if other := self._other(step):
            return await other.amend(cmd, step=step)
        changes = amended_fields(MedicalInsuranceRecord, enrolment_request, cmd)
        if changes:
            await self._client.update(cmd.reference, changes, key=cmd.idempotency_key)
        log.info("adapter.nhsa.amended", fields=len(changes))
        return completed({}, reference=cmd.reference)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        """Stop the enrolment."""
        if other := self._other(step):
            return await other.revoke(cmd, step=step)
        await self._client.stop(cmd.reference, cmd.reason, key=cmd.idempotency_key)
        log.info("adapter.nhsa.stopped")
        return completed({}, reference=cmd.reference)
