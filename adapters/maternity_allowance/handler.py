"""The employee maternity scheme's adapter: claim the allowance (answered at once)."""

from typing import Any

import structlog

from adapters._runtime.errors import UnsupportedCommandError
from adapters._runtime.records import load_record
from adapters._runtime.replies import completed
from adapters.maternity_allowance.client import MaternityClient
from contracts.commands import AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.records import MaternityAllowanceRecord
from contracts.replies import StepReply

log = structlog.get_logger()


def claim_request(record: MaternityAllowanceRecord) -> dict[str, Any]:
    """`POST /maternity/claims` body."""
    return {
        "psn_name": record.mother_name,
        "psn_cert_type": record.mother_id_type,
        "certno": record.mother_id_number,
        "emp_no": record.employer_code,
        "brdy": record.birth_date.isoformat(),
        "plurality": record.plurality,
    }


class MaternityAllowanceAdapter:
    """Submit → `completed {amount_fen, days, paid_to, payment_date}`; revoke stops
    the claim. An amendment changes nothing the scheme holds (it is answered done)."""

    def __init__(self, client: MaternityClient) -> None:
        self._client = client

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        record = load_record(MaternityAllowanceRecord, cmd.record)
        claimed = await self._client.claim(claim_request(record), key=cmd.idempotency_key)
        log.info("adapter.nhsa.maternity_claimed", days=claimed.days)
        output: dict[str, str | None] = {
            "amount_fen": str(claimed.amount_fen),
            "days": str(claimed.days),
            "paid_to": claimed.paid_to,
            "payment_date": claimed.payment_date,
        }
        return completed(output, reference=claimed.claim_no)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        raise UnsupportedCommandError("nhsa answers at once; there is nothing to poll")

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        return completed({}, reference=cmd.reference)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        await self._client.stop(cmd.reference, cmd.reason, key=cmd.idempotency_key)
        log.info("adapter.nhsa.maternity_stopped")
        return completed({}, reference=cmd.reference)
