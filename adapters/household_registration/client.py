"""Typed wrapper over public security's hukou application API; knows HTTP, not sagas."""

from typing import Any
from urllib.parse import quote

import httpx

from adapters._runtime.http import (
    Refusal,
    RetryPolicy,
    call_department,
    json_refusal,
    parse_json,
)
from adapters.household_registration.mapping import ApplicationAccepted, ApplicationStatus

refusal = json_refusal(message="yy")
"""mps refuses with `400 {"yy": reason}`."""


def status_refusal(resp: httpx.Response) -> Refusal | None:
    """A status look-up refused: `404` means the department knows no such application."""
    if resp.status_code == httpx.codes.NOT_FOUND:
        return Refusal("the department knows no such application")
    return refusal(resp)


class HouseholdClient:
    """`POST /hukou/applications`, `GET /hukou/applications/{sqbh}`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self._http, self._retry = http, retry

    async def apply(self, body: dict[str, Any], *, key: str) -> ApplicationAccepted:
        """File the application; the same `key` always gets the same application."""
        resp = await call_department(
            self._http,
            self._retry,
            "POST",
            "/hukou/applications",
            json=body,
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )
        return parse_json(resp, ApplicationAccepted)

    async def status(self, sqbh: str) -> ApplicationStatus:
        """How the review stands; an unknown `sqbh` is a `PermanentError` (404)."""
        resp = await call_department(
            self._http,
            self._retry,
            "GET",
            f"/hukou/applications/{quote(sqbh, safe='')}",
            reason_of=status_refusal,
        )
        return parse_json(resp, ApplicationStatus)
