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
    """`POST /sbk/applications`, `GET /sbk/applications/{sqh}`."""

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
