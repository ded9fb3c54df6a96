"""Typed wrapper over the social security card API; knows HTTP, not sagas."""

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
from adapters.social_security_card.mapping import CardApplicationAccepted, CardStatus

refusal = json_refusal(message="msg")
"""hrss refuses with `400 {"msg": reason}`."""


class CardClient(DepartmentClient):
    """`POST /sbk/applications`, `GET /sbk/applications/{sqh}`, `…/{sqh}/update`
    (amend), `…/{sqh}/cancel`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        super().__init__(http, retry, refusal)

    async def apply(self, body: dict[str, Any], *, key: str) -> CardApplicationAccepted:
        """Apply for the card; the same `key` always gets the same application."""
        resp = await self.post("/sbk/applications", key=key, json=body)
        return parse_json(resp, CardApplicationAccepted)

    async def status(self, sqh: str) -> CardStatus:
        """Whether the card is made; an unknown `sqh` is a `PermanentError` (404)."""
        url = f"/sbk/applications/{quote(sqh, safe='')}"
        resp = await self.call("GET", url, reason_of=unknown_reference_or(refusal))
        return parse_json(resp, CardStatus)

    async def update(self, sqh: str, changes: dict[str, Any], *, key: str) -> None:
        """Change the application's fields in `changes` (a merge patch)."""
        await self.post(f"/sbk/applications/{quote(sqh, safe='')}/update", key=key, json=changes)

    async def cancel(self, sqh: str, reason: str, *, key: str) -> None:
        """Cancel the application (the birth was reported in error)."""
        await self.post(
            f"/sbk/applications/{quote(sqh, safe='')}/cancel", key=key, json={"yy": reason}
        )
