"""Typed wrapper over the employee maternity scheme's claims API."""

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from adapters._runtime.http import DepartmentClient, RetryPolicy, parse_json
from adapters.medical_insurance.client import refusal


class Claimed(BaseModel):
    """`200 {"claim_no", "amount_fen", "days", "paid_to", "payment_date"}`."""

    model_config = ConfigDict(frozen=True)

    claim_no: str = Field(min_length=1)
    amount_fen: int = Field(ge=0)
    days: int = Field(ge=0)
    paid_to: str
    payment_date: str


class MaternityClient(DepartmentClient):
    """`POST /maternity/claims`, `…/{claim_no}/stop`."""

    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        super().__init__(http, retry, refusal)

    async def claim(self, body: dict[str, Any], *, key: str) -> Claimed:
        return parse_json(await self.post("/maternity/claims", key=key, json=body), Claimed)

    async def stop(self, claim_no: str, reason: str, *, key: str) -> None:
        url = f"/maternity/claims/{quote(claim_no, safe='')}/stop"
        await self.post(url, key=key, json={"reason": reason})
