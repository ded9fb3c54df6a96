"""The county health commission's adapter: grant the subsidy (answered at once)."""

import structlog

from adapters._runtime.errors import UnsupportedCommandError
from adapters._runtime.patch import amended_fields
from adapters._runtime.records import load_record
from adapters._runtime.replies import completed
from adapters.childcare_subsidy.client import SubsidyClient
from adapters.childcare_subsidy.mapping import grant_output, grant_request
from contracts.commands import AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.records import ChildcareSubsidyRecord
from contracts.replies import StepReply

log = structlog.get_logger()


class ChildcareSubsidyAdapter:
    """`DepartmentAdapter` for `wjw`: submit → `completed {programmes, paid_to}`;
    the `grant_no` is the reference that amend (`update`) and revoke (`stop`) use."""

    def __init__(self, client: SubsidyClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        record = load_record(ChildcareSubsidyRecord, cmd.record)
        granted = await self._client.grant(grant_request(record), key=cmd.idempotency_key)
        log.info("adapter.wjw.granted", programmes=len(granted.programmes))
        return completed(grant_output(granted), reference=granted.grant_no)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        raise UnsupportedCommandError("wjw answers at once; there is nothing to poll")

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        changes = amended_fields(ChildcareSubsidyRecord, grant_request, cmd)
        if not changes:
            return completed({}, reference=cmd.reference)
        granted = await self._client.update(cmd.reference, changes, key=cmd.idempotency_key)
        log.info("adapter.wjw.amended", fields=len(changes))
        return completed(grant_output(granted), reference=cmd.reference)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        """Stop the entitlement."""
        await self._client.stop(cmd.reference, cmd.reason, key=cmd.idempotency_key)
        log.info("adapter.wjw.stopped")
        return completed({}, reference=cmd.reference)
