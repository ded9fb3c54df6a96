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
    """`POST /hukou/applications`, `GET /hukou/applications/{sqbh}`, `…/{sqbh}/bg`
    (amend), `…/{sqbh}/withdraw`."""

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

    async def amend(self, sqbh: str, changes: dict[str, Any], *, key: str) -> ApplicationStatus:
        """Change the application's fields in `changes` (a merge patch); the answer
        says where it stands (a rejected application goes back to review)."""
        resp = await call_department(
            self._http,
            self._retry,
            "POST",
            f"/hukou/applications/{quote(sqbh, safe='')}/bg",
            json=changes,
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )
        return parse_json(resp, ApplicationStatus)

    async def withdraw(self, sqbh: str, reason: str, *, key: str) -> None:
        """Withdraw the application (the birth was reported in error)."""
        await call_department(
            self._http,
            self._retry,
            "POST",
            f"/hukou/applications/{quote(sqbh, safe='')}/withdraw",
            json={"yy": reason},
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )
