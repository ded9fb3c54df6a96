"""API keys for hospitals and operators: long random secrets, stored hashed.

A key reads `bl_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the
whole key is compared in constant time. The keys are 256-bit random, so a fast
hash is enough (no password stretching needed).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import ApiKey

Role = Literal["hospital", "operator"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a hospital (bound to its code) or an operator."""

    role: Role
    name: str
    hospital_code: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    session: AsyncSession, *, role: Role, name: str, hospital_code: str | None, now: datetime
) -> str:
    """Store a new key's hash and return the key (shown once, never stored)."""
    prefix = secrets.token_hex(6)
    key = f"bl_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(
            prefix=prefix,
            key_hash=_hash(key),
            role=role,
            hospital_code=hospital_code,
            name=name,
            created_at=now,
        )
    )
    return key


async def authenticate(session: AsyncSession, key: str) -> Principal | None:
    """The principal behind a key, or None for an unknown, wrong or revoked one."""
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "bl":
        return None
    row = await session.get(ApiKey, parts[1])
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(key)):
        return None
    role: Role = "hospital" if row.role == "hospital" else "operator"
    return Principal(role=role, name=row.name, hospital_code=row.hospital_code)
