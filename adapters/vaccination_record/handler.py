"""The immunisation registry's adapter: register the birth doses (answered at once)."""

import structlog

from adapters._runtime.errors import UnsupportedCommandError
from adapters._runtime.records import load_record
from adapters._runtime.replies import completed
from adapters.vaccination_record.client import VaccinationClient
from adapters.vaccination_record.mapping import registration_xml, vaccination_output
from contracts.commands import PollDepartment, SubmitStep
from contracts.records import VaccinationRecord
from contracts.replies import StepReply
from contracts.steps import Step

log = structlog.get_logger()


class VaccinationAdapter:
    """`DepartmentAdapter` for `cdc`: submit → `completed {record_number}`."""

    def __init__(self, client: VaccinationClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: Step) -> StepReply:
        """Register the record; a refusal raises `PermanentError`."""
        record = load_record(VaccinationRecord, cmd.record)
        log.info("adapter.cdc.submitting", doses=len(record.doses))
        number = await self._client.register(registration_xml(record), key=cmd.idempotency_key)
        log.info("adapter.cdc.submitted", reference=number)
        return completed(vaccination_output(number), reference=number)

    async def poll(self, cmd: PollDepartment, *, step: Step) -> StepReply:
        """cdc answers at once: there is nothing to poll."""
        raise UnsupportedCommandError("cdc answers at once; there is nothing to poll")
