"""Typed wrapper over healthcare security's enrolment API; knows HTTP, not sagas."""

from typing import Any
from urllib.parse import quote

import httpx

from adapters._runtime.http import DepartmentClient, RetryPolicy, json_refusal, parse_json
from adapters.medical_insurance.mapping import Enrolled

refusal = json_refusal(message="err_msg", code="infcode")
"""nhsa refuses with `400 {"infcode": -1, "err_msg": reason}`, and answers
`409 {"err_msg"}` when the `certno` is already enrolled under another key
(also a refusal: the saga cannot fix it by retrying)."""


class InsuranceClient(DepartmentClient):
    """`POST /insurance/enrol`, `…/{psn_no}/update` (amend), `…/{psn_no}/stop`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        super().__init__(http, retry, refusal)

    async def enrol(self, body: dict[str, Any], *, key: str) -> Enrolled:
        """Enrol the child; the same `key` always gets the same enrolment."""
        return parse_json(await self.post("/insurance/enrol", key=key, json=body), Enrolled)

    async def update(self, psn_no: str, changes: dict[str, Any], *, key: str) -> None:
        """Change the enrolment's fields in `changes` (a merge patch)."""
        await self.post(f"/insurance/enrol/{quote(psn_no, safe='')}/update", key=key, json=changes)

    async def stop(self, psn_no: str, reason: str, *, key: str) -> None:
        """End the enrolment (the birth was reported in error)."""
        url = f"/insurance/enrol/{quote(psn_no, safe='')}/stop"
        await self.post(url, key=key, json={"reason": reason})
