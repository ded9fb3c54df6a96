"""Departments that answer later call back: verify, then read their answer.

Signature: `X-Birthlink-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`,
refused when older than the tolerance. The gateway must answer an unknown
reference with 404 at once, so it reads the two callback formats itself
(docs/departments.md) instead of forwarding raw bodies to the adapters.
"""

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from contracts.replies import StepReply


class CallbackError(ValueError):
    """The callback's body is not what the department sends."""


def verify_signature(
    header: str | None, body: bytes, secret: str, *, now: int, tolerance_s: int
) -> bool:
    """True when the header signs this body with the secret, recently enough."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass(frozen=True)
class Callback:
    """A department's answer: which request (reference) and what came of it."""

    reference: str
    reply: StepReply


def parse_callback(department: str, data: Any) -> Callback:
    """Read a callback body of `mps` or `hrss`."""
    if not isinstance(data, dict):
        raise CallbackError("body is not an object")
    if department == "mps":
        reference, state = _text(data, "sqbh"), data.get("zt")
        if state == "approved":
            reply = StepReply(
                outcome="completed",
                output={"citizen_id": _text(data, "gmsfhm")},
                reference=reference,
                command_id="callback",
            )
        elif state == "rejected":
            reply = StepReply(
                outcome="rejected",
                reason=str(data.get("yy") or "rejected"),
                reference=reference,
                command_id="callback",
            )
        else:
            raise CallbackError(f"unknown zt {state!r}")
        return Callback(reference, reply)
    if department == "hrss":
        reference = _text(data, "sqh")
        mailed = data.get("yjrq")
        reply = StepReply(
            outcome="completed",
            output={
                "card_number": _text(data, "kh"),
                "mailed_at": str(mailed) if mailed else None,
                "application_number": reference,
            },
            reference=reference,
            command_id="callback",
        )
        return Callback(reference, reply)
    raise CallbackError(f"{department} sends no callbacks")


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise CallbackError(f"{key} is missing")
    return value
