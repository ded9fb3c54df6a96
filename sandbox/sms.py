"""A simulated SMS gateway: it sends nothing, it records what it was asked to send.

``POST /sms/messages`` ``{"to": "<11-digit mainland mobile>", "text": "…"}`` with an
``Idempotency-Key`` header → ``202 {"id": "SMS…", "status": "accepted"}``. The same
key again answers the same and records nothing new (``requests`` counts it); the
key with another body is a ``422``. A bad number or text is a ``400
{"code", "message"}``.

Sandbox controls: ``GET /sms/_sandbox/messages`` → ``{"messages": [{"id", "key",
"to", "text", "requests", "received_at"}], "requests_total"}``;
``POST /sms/_sandbox/faults`` ``{"fail_next": 0, "fail_status": 503}`` answers the
next N requests with that status (and records nothing).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.department import Clock

MOBILE = re.compile(r"^1[3-9]\d{9}$")


class SmsRequest(BaseModel):
    to: str
    text: str


class SmsFaults(BaseModel):
    fail_next: int = Field(default=0, ge=0)
    fail_status: int = Field(default=503, ge=400, le=599)


@dataclass
class SentMessage:
    """One message, under the idempotency key it came with."""

    id: str
    key: str
    to: str
    text: str
    received_at: datetime
    requests: int = 1

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "to": self.to,
            "text": self.text,
            "requests": self.requests,
            "received_at": self.received_at.isoformat(),
        }


@dataclass
class SmsGateway:
    """The messages received, by key, in the order they came."""

    clock: Clock
    messages: dict[str, SentMessage] = field(default_factory=dict)
    faults: SmsFaults = field(default_factory=SmsFaults)
    requests_total: int = 0

    def receive(self, key: str, body: SmsRequest) -> JSONResponse:
        self.requests_total += 1
        if self.faults.fail_next > 0:
            self.faults = self.faults.model_copy(update={"fail_next": self.faults.fail_next - 1})
            return _error(self.faults.fail_status, "UNAVAILABLE", "try again later")
        if not key or len(key) > 255:
            return _error(400, "MISSING_IDEMPOTENCY_KEY", "Idempotency-Key is required")
        known = self.messages.get(key)
        if known is not None:
            if (known.to, known.text) != (body.to, body.text):
                return _error(422, "IDEMPOTENCY_KEY_REUSED", "the key came with another message")
            known.requests += 1
            return _accepted(known)
        if not MOBILE.match(body.to):
            return _error(400, "BAD_NUMBER", "not a mainland mobile number")
        if not 0 < len(body.text) <= 500:
            return _error(400, "BAD_TEXT", "text must have 1 to 500 characters")
        message = SentMessage(
            f"SMS{len(self.messages) + 1:08d}", key, body.to, body.text, self.clock()
        )
        self.messages[key] = message
        return _accepted(message)


def _accepted(message: SentMessage) -> JSONResponse:
    return JSONResponse({"id": message.id, "status": "accepted"}, status_code=202)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def create_router(gateway: SmsGateway) -> APIRouter:
    """``/messages`` and the ``/_sandbox`` controls of ``gateway``."""
    router = APIRouter()

    @router.post("/messages", status_code=202)
    async def send(body: SmsRequest, idempotency_key: str = Header(default="")) -> JSONResponse:
        return gateway.receive(idempotency_key.strip(), body)

    @router.get("/_sandbox/messages", tags=["sandbox controls"])
    async def messages() -> dict[str, Any]:
        return {
            "messages": [m.describe() for m in gateway.messages.values()],
            "requests_total": gateway.requests_total,
        }

    @router.post("/_sandbox/faults", tags=["sandbox controls"])
    async def faults(faults: SmsFaults) -> SmsFaults:
        gateway.faults = faults
        return faults

    return router
