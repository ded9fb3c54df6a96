"""The health commission's adapter: issue the birth certificate (answered at once)."""

import structlog

from adapters._runtime.errors import UnsupportedCommandError
from adapters._runtime.records import load_record
from adapters._runtime.replies import completed
from adapters.birth_certificate.client import BirthCertificateClient
from adapters.birth_certificate.mapping import certificate_output, certificate_request
from contracts.commands import PollDepartment, SubmitStep
from contracts.records import BirthCertificateRecord
from contracts.replies import StepReply
from contracts.steps import Step

log = structlog.get_logger()


class BirthCertificateAdapter:
    """`DepartmentAdapter` for `nhc`: submit → `completed {certificate_number}`."""

    def __init__(self, client: BirthCertificateClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: Step) -> StepReply:
        """Issue the certificate; a refusal raises `PermanentError`."""
        record = load_record(BirthCertificateRecord, cmd.record)
        log.info("adapter.nhc.submitting")
        issued = await self._client.issue(certificate_request(record), key=cmd.idempotency_key)
        log.info("adapter.nhc.submitted", reference=issued.zmbh)
        return completed(certificate_output(issued), reference=issued.zmbh)

    async def poll(self, cmd: PollDepartment, *, step: Step) -> StepReply:
        """nhc answers at once: there is nothing to poll."""
        raise UnsupportedCommandError("nhc answers at once; there is nothing to poll")
