"""The envelope every bus message travels in (SPEC §6)."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field


def new_message_id() -> str:
    """A fresh, globally unique message id."""
    return uuid4().hex


class Envelope(BaseModel):
    """A message: who it concerns, what it is, and its typed `data`.

    `message_id` is what consumers de-duplicate on (inbox); `attempt` and
    `traceparent` are also copied into the broker headers.
    """

    model_config = ConfigDict(frozen=True)

    message_id: str = Field(default_factory=new_message_id)
    type: str
    birth_id: str
    step: str | None = None
    attempt: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    traceparent: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """Broker headers: enough to route, trace and log without parsing the body."""
        headers = {"birth_id": self.birth_id, "attempt": str(self.attempt), "type": self.type}
        if self.step is not None:
            headers["step"] = self.step
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        return headers
