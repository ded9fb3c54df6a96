"""Typed wrapper over the immunisation registry's XML API; knows HTTP, not sagas."""

import httpx

from adapters._runtime.http import Refusal, RetryPolicy, call_department
from adapters.vaccination_record.mapping import error_reason, record_number

XML = "application/xml"


def refusal(resp: httpx.Response) -> Refusal | None:
    """cdc refuses with `400 <Error><Code/><Message/></Error>`."""
    return error_reason(resp.content)


class VaccinationClient:
    """`POST /ImmunizationService/register`, `…/update` (amend), `…/cancel`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self._http, self._retry = http, retry

    async def register(self, registration: bytes, *, key: str) -> str:
        """Register the child's birth doses; returns the registry's record number."""
        resp = await call_department(
            self._http,
            self._retry,
            "POST",
            "/ImmunizationService/register",
            content=registration,
            headers={"Idempotency-Key": key, "Content-Type": XML, "Accept": XML},
            reason_of=refusal,
        )
        return record_number(resp.content)

    async def update(self, registration: bytes, *, key: str) -> None:
        """Replace the registration (the body names its `<RecordNo>`)."""
        await self._post("/ImmunizationService/update", registration, key)

    async def cancel(self, cancellation: bytes, *, key: str) -> None:
        """Cancel the record (the birth was reported in error)."""
        await self._post("/ImmunizationService/cancel", cancellation, key)

    async def _post(self, path: str, body: bytes, key: str) -> None:
        await call_department(
            self._http,
            self._retry,
            "POST",
            path,
            content=body,
            headers={"Idempotency-Key": key, "Content-Type": XML, "Accept": XML},
            reason_of=refusal,
        )
