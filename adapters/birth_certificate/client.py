"""Typed wrapper over the health commission's certificate API; knows HTTP, not sagas."""

from typing import Any
from urllib.parse import quote

import httpx

from adapters._runtime.http import DepartmentClient, RetryPolicy, json_refusal, parse_json
from adapters.birth_certificate.mapping import CertificateIssued

refusal = json_refusal(message="cwxx", code="cwdm")
"""nhc refuses with `400 {"cwdm": code, "cwxx": reason}`."""


class BirthCertificateClient(DepartmentClient):
    """`POST /csyxzm`, `POST /csyxzm/{zmbh}/bg` (amend), `POST /csyxzm/{zmbh}/zf` (void)."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        super().__init__(http, retry, refusal)

    async def issue(self, body: dict[str, Any], *, key: str) -> CertificateIssued:
        """Ask for the certificate; the same `key` always gets the same certificate."""
        return parse_json(await self.post("/csyxzm", key=key, json=body), CertificateIssued)

    async def amend(self, zmbh: str, changes: dict[str, Any], *, key: str) -> None:
        """Change the certificate's fields in `changes` (a merge patch)."""
        await self.post(f"/csyxzm/{quote(zmbh, safe='')}/bg", key=key, json=changes)

    async def void(self, zmbh: str, reason: str, *, key: str) -> None:
        """Void the certificate (the birth was reported in error)."""
        await self.post(f"/csyxzm/{quote(zmbh, safe='')}/zf", key=key, json={"yy": reason})
