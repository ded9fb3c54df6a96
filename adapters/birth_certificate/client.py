"""Typed wrapper over the health commission's certificate API; knows HTTP, not sagas."""

from typing import Any

import httpx

from adapters._runtime.http import RetryPolicy, call_department, json_refusal, parse_json
from adapters.birth_certificate.mapping import CertificateIssued

refusal = json_refusal(message="cwxx", code="cwdm")
"""nhc refuses with `400 {"cwdm": code, "cwxx": reason}`."""


class BirthCertificateClient:
    """`POST /csyxzm`."""

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
