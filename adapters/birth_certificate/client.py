"""Typed wrapper over the health commission's certificate API; knows HTTP, not sagas."""

from typing import Any
from urllib.parse import quote

import httpx

from adapters._runtime.http import RetryPolicy, call_department, json_refusal, parse_json
from adapters.birth_certificate.mapping import CertificateIssued

refusal = json_refusal(message="cwxx", code="cwdm")
"""nhc refuses with `400 {"cwdm": code, "cwxx": reason}`."""


class BirthCertificateClient:
    """`POST /csyxzm`, `POST /csyxzm/{zmbh}/bg` (amend), `POST /csyxzm/{zmbh}/zf` (void)."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self._http, self._retry = http, retry

    async def issue(self, body: dict[str, Any], *, key: str) -> CertificateIssued:
        """Ask for the certificate; the same `key` always gets the same certificate."""
        resp = await call_department(
            self._http,
            self._retry,
            "POST",
            "/csyxzm",
            json=body,
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )
        return parse_json(resp, CertificateIssued)

    async def amend(self, zmbh: str, changes: dict[str, Any], *, key: str) -> None:
        """Change the certificate's fields in `changes` (a merge patch)."""
        await call_department(
            self._http,
            self._retry,
            "POST",
            f"/csyxzm/{quote(zmbh, safe='')}/bg",
            json=changes,
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )

    async def void(self, zmbh: str, reason: str, *, key: str) -> None:
        """Void the certificate (the birth was reported in error)."""
        await call_department(
            self._http,
            self._retry,
            "POST",
            f"/csyxzm/{quote(zmbh, safe='')}/zf",
            json={"yy": reason},
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )
