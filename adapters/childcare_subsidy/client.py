"""Typed wrapper over the county health commission's subsidy API."""

from typing import Any
from urllib.parse import quote

import httpx

from adapters._runtime.http import DepartmentClient, RetryPolicy, json_refusal, parse_json
from adapters.childcare_subsidy.mapping import Granted

refusal = json_refusal(message="msg", code="code")
"""wjw refuses with `400 {"code", "msg"}`."""


class SubsidyClient(DepartmentClient):
    """`POST /subsidy/grants`, `…/{grant_no}/update` (amend), `…/{grant_no}/stop`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        super().__init__(http, retry, refusal)

    async def grant(self, body: dict[str, Any], *, key: str) -> Granted:
        return parse_json(await self.post("/subsidy/grants", key=key, json=body), Granted)

    async def update(self, grant_no: str, changes: dict[str, Any], *, key: str) -> Granted:
        url = f"/subsidy/grants/{quote(grant_no, safe='')}/update"
        return parse_json(await self.post(url, key=key, json=changes), Granted)

    async def stop(self, grant_no: str, reason: str, *, key: str) -> None:
        url = f"/subsidy/grants/{quote(grant_no, safe='')}/stop"
        await self.post(url, key=key, json={"reason": reason})
