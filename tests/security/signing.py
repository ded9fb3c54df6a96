"""Signing callbacks as a department does (docs/departments.md)."""

import hashlib
import hmac
import json
import time
from typing import Any


def signed(
    body: dict[str, Any], secret: str, *, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time() if at is None else at))
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return raw, {"X-Birthlink-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}
