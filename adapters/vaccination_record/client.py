"""Typed wrapper over the immunisation registry's XML API; knows HTTP, not sagas."""

import httpx

from adapters._runtime.http import Refusal, RetryPolicy, call_department
from adapters.vaccination_record.mapping import error_reason, record_number

XML = "application/xml"


def refusal(resp: httpx.Response) -> Refusal | None:
    """cdc refuses with `400 <Error><Code/><Message/></Error>`."""
    return error_reason(resp.content)


class VaccinationClient:
    """`POST /ImmunizationService/register`."""

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
