"""Typed wrapper over healthcare security's enrolment API; knows HTTP, not sagas."""

from typing import Any

import httpx

from adapters._runtime.http import RetryPolicy, call_department, json_refusal, parse_json
from adapters.medical_insurance.mapping import Enrolled

refusal = json_refusal(message="err_msg", code="infcode")
"""nhsa refuses with `400 {"infcode": -1, "err_msg": reason}`, and answers
`409 {"err_msg"}` when the `certno` is already enrolled under another key
(also a refusal: the saga cannot fix it by retrying)."""


class InsuranceClient:
    """`POST /insurance/enrol`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self._http, self._retry = http, retry

    async def enrol(self, body: dict[str, Any], *, key: str) -> Enrolled:
        """Enrol the child; the same `key` always gets the same enrolment."""
        resp = await call_department(
            self._http,
            self._retry,
            "POST",
            "/insurance/enrol",
            json=body,
            headers={"Idempotency-Key": key},
            reason_of=refusal,
        )
        return parse_json(resp, Enrolled)
