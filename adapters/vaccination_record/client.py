"""Typed wrapper over the immunisation registry's XML API; knows HTTP, not sagas."""

import httpx

from adapters._runtime.http import DepartmentClient, Refusal, RetryPolicy
from adapters.vaccination_record.mapping import error_reason, record_number

XML = {"Content-Type": "application/xml", "Accept": "application/xml"}


def refusal(resp: httpx.Response) -> Refusal | None:
    """cdc refuses with `400 <Error><Code/><Message/></Error>`."""
    return error_reason(resp.content)


class VaccinationClient(DepartmentClient):
    """`POST /ImmunizationService/register`, `…/update` (amend), `…/cancel`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        super().__init__(http, retry, refusal)

    async def register(self, registration: bytes, *, key: str) -> str:
        """Register the child's birth doses; returns the registry's record number."""
        url = "/ImmunizationService/register"
        resp = await self.post(url, key=key, content=registration, headers=XML)
        return record_number(resp.content)

    async def update(self, registration: bytes, *, key: str) -> None:
        """Replace the registration (the body names its `<RecordNo>`)."""
        await self.post("/ImmunizationService/update", key=key, content=registration, headers=XML)

    async def cancel(self, cancellation: bytes, *, key: str) -> None:
        """Cancel the record (the birth was reported in error)."""
        await self.post("/ImmunizationService/cancel", key=key, content=cancellation, headers=XML)
