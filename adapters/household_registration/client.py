"""Typed wrapper over public security's hukou application API; knows HTTP, not sagas."""

from typing import Any
from urllib.parse import quote

import httpx

from adapters._runtime.http import (
    DepartmentClient,
    RetryPolicy,
    json_refusal,
    parse_json,
    unknown_reference_or,
)
from adapters.household_registration.mapping import ApplicationAccepted, ApplicationStatus

refusal = json_refusal(message="yy")
"""mps refuses with `400 {"yy": reason}`."""


class HouseholdClient(DepartmentClient):
    """`POST /hukou/applications`, `GET /hukou/applications/{sqbh}`, `…/{sqbh}/bg`
    (amend), `…/{sqbh}/withdraw`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        super().__init__(http, retry, refusal)

    async def apply(self, body: dict[str, Any], *, key: str) -> ApplicationAccepted:
        """File the application; the same `key` always gets the same application."""
        resp = await self.post("/hukou/applications", key=key, json=body)
        return parse_json(resp, ApplicationAccepted)

    async def status(self, sqbh: str) -> ApplicationStatus:
        """How the review stands; an unknown `sqbh` is a `PermanentError` (404)."""
        url = f"/hukou/applications/{quote(sqbh, safe='')}"
        resp = await self.call("GET", url, reason_of=unknown_reference_or(refusal))
        return parse_json(resp, ApplicationStatus)

    async def amend(self, sqbh: str, changes: dict[str, Any], *, key: str) -> ApplicationStatus:
        """Change the application's fields in `changes` (a merge patch); the answer
        says where it stands (a rejected application goes back to review)."""
        resp = await self.post(
            f"/hukou/applications/{quote(sqbh, safe='')}/bg", key=key, json=changes
        )
        return parse_json(resp, ApplicationStatus)

    async def withdraw(self, sqbh: str, reason: str, *, key: str) -> None:
        """Withdraw the application (the birth was reported in error)."""
        url = f"/hukou/applications/{quote(sqbh, safe='')}/withdraw"
        await self.post(url, key=key, json={"yy": reason})
