"""Typed wrapper over the social security card API; knows HTTP, not sagas."""

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
from adapters.social_security_card.mapping import CardApplicationAccepted, CardStatus

refusal = json_refusal(message="msg")
"""hrss refuses with `400 {"msg": reason}`."""


def status_refusal(resp: httpx.Response) -> Refusal | None:
    """A status look-up refused: `404` means the department knows no such application."""
    if resp.status_code == httpx.codes.NOT_FOUND:
        return Refusal("the department knows no such application")
    return refusal(resp)


class CardClient:
    """`POST /sbk/applications`, `GET /sbk/applications/{sqh}`, `…/{sqh}/update`
    (amend), `…/{sqh}/cancel`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self._http, self._retry = http, retry

    async def apply(self, body: dict[str, Any], *, key: str) -> CardApplicationAccepted:
        """Apply for the card; the same `key` always gets the same application."""
        resp = await call_department(
            self._http,
            self._retry,
            "POST",
            "/sbk/applications",
            json=body,
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )
        return parse_json(resp, CardApplicationAccepted)

    async def status(self, sqh: str) -> CardStatus:
        """Whether the card is made; an unknown `sqh` is a `PermanentError` (404)."""
        resp = await call_department(
            self._http,
            self._retry,
            "GET",
            f"/sbk/applications/{quote(sqh, safe='')}",
            reason_of=status_refusal,
        )
        return parse_json(resp, CardStatus)

    async def update(self, sqh: str, changes: dict[str, Any], *, key: str) -> None:
        """Change the application's fields in `changes` (a merge patch)."""
        await call_department(
            self._http,
            self._retry,
            "POST",
            f"/sbk/applications/{quote(sqh, safe='')}/update",
            json=changes,
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )

    async def cancel(self, sqh: str, reason: str, *, key: str) -> None:
        """Cancel the application (the birth was reported in error)."""
        await call_department(
            self._http,
            self._retry,
            "POST",
            f"/sbk/applications/{quote(sqh, safe='')}/cancel",
            json={"yy": reason},
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )
