"""API keys for hospitals and operators: long random secrets, stored hashed.

A key reads `bl_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the
whole key is compared in constant time. The keys are 256-bit random, so a fast
hash is enough (no password stretching needed).

Life of a key: `create_key`; `rotate_key` makes a successor for the same
principal and lets the old key live on for a grace period (clients switch
without an outage); `revoke_key` ends a key at once: every request is checked
against the database, so the next one is refused (requests that arrive together
are checked by one read, which begins after they arrived).
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import ApiKey

Role = Literal["hospital", "operator"]
# Asked on every request: a statement made once, its row read without the ORM.
_KEYS = cast(Table, ApiKey.__table__)
_BY_PREFIXES = select(_KEYS).where(_KEYS.c.prefix.in_(bindparam("prefixes", expanding=True)))


class UnknownKeyError(LookupError):
    """No usable key with that prefix (unknown, revoked or expired)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a hospital (bound to its code) or an operator."""

    role: Role
    name: str
    hospital_code: str | None = None
    key_prefix: str = ""

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never the key, never its hash."""

    prefix: str
    role: str
    name: str
    hospital_code: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None:
            return "expired" if self.expires_at <= now else "rotating"
        return "active"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _usable(row: ApiKey, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


async def create_key(
    session: AsyncSession, *, role: Role, name: str, hospital_code: str | None, now: datetime
) -> str:
    """Store a new key's hash and return the key (shown once, never stored)."""
    key, row = _new_key(role=role, name=name, hospital_code=hospital_code, now=now)
    session.add(row)
    return key


def _new_key(
    *, role: str, name: str, hospital_code: str | None, now: datetime
) -> tuple[str, ApiKey]:
    prefix = secrets.token_hex(6)
    key = f"bl_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        prefix=prefix,
        key_hash=_hash(key),
        role=role,
        hospital_code=hospital_code,
        name=name,
        created_at=now,
    )
    return key, row


async def authenticate(
    session: AsyncSession, keys: Sequence[str], *, now: datetime | None = None
) -> list[Principal | None]:
    """The principal behind each key, or None for an unknown, wrong, revoked or
    expired one (`now` decides expiry; without it only revocation counts): one
    statement for them all."""
    prefixes = {key: parts[1] for key in keys if _well_formed(parts := key.split("_"))}
    rows: dict[str, Any] = {}
    if prefixes:
        found = await session.execute(_BY_PREFIXES, {"prefixes": sorted(set(prefixes.values()))})
        rows = {row.prefix: row for row in found}
    return [_principal(rows.get(prefixes.get(key, "")), key, now) for key in keys]


def _well_formed(parts: list[str]) -> bool:
    return len(parts) >= 3 and parts[0] == "bl" and len(parts[1]) <= 16


def _principal(row: Any, key: str, now: datetime | None) -> Principal | None:
    if row is None or row.revoked_at is not None:
        return None
    if now is not None and row.expires_at is not None and row.expires_at <= now:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(key)):
        return None
    role: Role = "hospital" if row.role == "hospital" else "operator"
    return Principal(
        role=role, name=row.name, hospital_code=row.hospital_code, key_prefix=row.prefix
    )


async def list_keys(session: AsyncSession) -> list[KeyInfo]:
    """Every key, oldest first."""
    rows = (await session.scalars(select(ApiKey).order_by(ApiKey.created_at))).all()
    return [
        KeyInfo(
            prefix=r.prefix,
            role=r.role,
            name=r.name,
            hospital_code=r.hospital_code,
            created_at=r.created_at,
            expires_at=r.expires_at,
            revoked_at=r.revoked_at,
            replaced_by=r.replaced_by,
        )
        for r in rows
    ]


async def rotate_key(session: AsyncSession, prefix: str, *, now: datetime, grace: timedelta) -> str:
    """A successor for the key `prefix` (same principal); the old key stays
    valid for `grace`, then is refused. Returns the new key."""
    old = await session.get(ApiKey, prefix, with_for_update=True)
    if old is None or not _usable(old, now):
        raise UnknownKeyError(prefix)
    key, row = _new_key(role=old.role, name=old.name, hospital_code=old.hospital_code, now=now)
    session.add(row)
    end = now + grace
    old.expires_at = min(old.expires_at, end) if old.expires_at else end
    old.replaced_by = row.prefix
    return key


async def revoke_key(session: AsyncSession, prefix: str, *, now: datetime) -> None:
    """End the key `prefix` now; its next request is refused."""
    row = await session.get(ApiKey, prefix, with_for_update=True)
    if row is None or row.revoked_at is not None:
        raise UnknownKeyError(prefix)
    row.revoked_at = now
