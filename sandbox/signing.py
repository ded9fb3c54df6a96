"""Signing of callbacks: ``X-Birthlink-Signature: t=<unix>,v1=<hex HMAC-SHA256>``."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Birthlink-Signature"


def sign(secret: str, body: bytes, now: int) -> str:
    """The signature header value for ``body`` sent at unix time ``now``.

    The MAC covers ``b"<now>." + body`` so that a captured body cannot be
    replayed later under a fresh timestamp.
    """
    mac = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256)
    return f"t={now},v1={mac.hexdigest()}"
