"""Departments that answer later call back: verify, then read their answer.

Signature: `X-Birthlink-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`,
refused when older than the tolerance (either way: a clock far ahead is no
better). Secrets rotate like API keys: `rotate_secret` makes a new one and lets
the old ones live for a grace period, so a department can switch without a
refused callback; until a department's first rotation, the secret configured
in settings (`BIRTHLINK_<DEPARTMENT>_SECRET`) is its only one. The gateway must answer an unknown
reference with 404 at once, so it reads the two callback formats itself
(docs/departments.md) instead of forwarding raw bodies to the adapters.
"""

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalogue import BUILTIN_DEPARTMENTS
from contracts.replies import StepReply
from gateway.store.tables import CallbackSecret


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
    # ASCII digits only ("²" is a digit to isdigit()), and not so many that int() refuses.
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 18):
        return False
    if abs(now - int(stamp)) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    # As bytes: compare_digest refuses str with non-ASCII characters.
    return hmac.compare_digest(expected.encode(), signature.encode())


@dataclass(frozen=True)
class Callback:
    """A department's answer: which request (reference) and what came of it."""

    reference: str
    reply: StepReply


# How each department that calls back writes its answer (docs/departments.md).
CallbackReader = Callable[[dict[str, Any]], Callback]


def parse_callback(readers: Mapping[str, CallbackReader], department: str, data: Any) -> Callback:
    """Read a callback body with the department's reader."""
    reader = readers.get(department)
    if reader is None:
        raise CallbackError(f"{department} sends no callbacks")
    if not isinstance(data, dict):
        raise CallbackError("body is not an object")
    return reader(data)


def _mps(data: dict[str, Any]) -> Callback:
    """Public security: `sqbh` the application, `zt` approved or rejected."""
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


def _hrss(data: dict[str, Any]) -> Callback:
    """Social security: `sqh` the application, `kh` the card, `yjrq` mailed on."""
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


BUILTIN_READERS: dict[str, CallbackReader] = {"mps": _mps, "hrss": _hrss}


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise CallbackError(f"{key} is missing")
    return value


def verify_any(
    header: str | None, body: bytes, valid: list[str], *, now: int, tolerance_s: int
) -> bool:
    """True when the header signs this body with any of the valid secrets."""
    return any(
        verify_signature(header, body, secret, now=now, tolerance_s=tolerance_s) for secret in valid
    )


def _active(row: CallbackSecret, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


async def valid_secrets(
    session: AsyncSession, department: str, configured: str, *, now: datetime
) -> list[str]:
    """The secrets a department may sign with now."""
    rows = (
        await session.scalars(select(CallbackSecret).where(CallbackSecret.department == department))
    ).all()
    if not rows:
        return [configured]
    return [
        str(row.secret["secret"]) if row.secret else configured for row in rows if _active(row, now)
    ]


# Bumped by a rotation or revocation in this process: `SecretCache` reloads at once.
_changes = 0


@dataclass(frozen=True)
class _Held:
    secret: str | None  # None: the one configured in settings
    expires_at: datetime | None
    revoked_at: datetime | None


class SecretCache:
    """The departments' callback secrets held in memory, so that checking a
    signature reads nothing: loaded when first needed, again at once after a
    rotation or revocation in this process, and at most `ttl_s` after one made
    elsewhere (the CLI, another gateway)."""

    def __init__(
        self,
        session: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        *,
        ttl_s: float = 10.0,
    ) -> None:
        self._session, self._ttl_s = session, ttl_s
        self._held: dict[str, tuple[list[_Held], float, int]] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    def _fresh(self, department: str) -> tuple[list[_Held], float, int] | None:
        held = self._held.get(department)
        if held is None or held[2] != _changes or time.monotonic() - held[1] > self._ttl_s:
            return None
        return held

    async def _load(self, department: str) -> tuple[list[_Held], float, int]:
        loaded_at, changes = time.monotonic(), _changes
        async with self._session() as session:
            rows = (
                await session.scalars(
                    select(CallbackSecret).where(CallbackSecret.department == department)
                )
            ).all()
        kept = [
            _Held(str(r.secret["secret"]) if r.secret else None, r.expires_at, r.revoked_at)
            for r in rows
        ]
        self._held[department] = (kept, loaded_at, changes)
        return self._held[department]

    async def valid(self, department: str, configured: str, *, now: datetime) -> list[str]:
        """The secrets `department` may sign with now."""
        held = self._fresh(department)
        if held is None:
            # One load at a time: callbacks that arrive together wait for it.
            async with self._loading.setdefault(department, asyncio.Lock()):
                held = self._fresh(department) or await self._load(department)
        if not held[0]:
            return [configured]
        return [
            h.secret or configured
            for h in held[0]
            if h.revoked_at is None and (h.expires_at is None or h.expires_at > now)
        ]


def _changed() -> None:
    global _changes
    _changes += 1


async def rotate_secret(
    session: AsyncSession,
    department: str,
    *,
    now: datetime,
    grace: timedelta,
    departments: Collection[str] = BUILTIN_DEPARTMENTS,
) -> str:
    """A new secret for `department` (one of `departments`); the ones valid now
    stay valid for `grace`."""
    if department not in departments:
        raise ValueError(f"unknown department {department!r}")
    rows = (
        await session.scalars(select(CallbackSecret).where(CallbackSecret.department == department))
    ).all()
    end = now + grace
    if not rows:  # the configured secret becomes a managed one, to be retired
        session.add(
            CallbackSecret(
                id=secrets.token_hex(6),
                department=department,
                secret=None,
                created_at=now,
                expires_at=end,
            )
        )
    for row in rows:
        if _active(row, now):
            row.expires_at = min(row.expires_at, end) if row.expires_at else end
    secret = secrets.token_urlsafe(32)
    _changed()
    session.add(
        CallbackSecret(
            id=secrets.token_hex(6),
            department=department,
            secret={"secret": secret},
            created_at=now,
        )
    )
    return secret


async def revoke_secret(session: AsyncSession, secret_id: str, *, now: datetime) -> None:
    """End a callback secret now."""
    row = await session.get(CallbackSecret, secret_id, with_for_update=True)
    if row is None or row.revoked_at is not None:
        raise LookupError(secret_id)
    row.revoked_at = now
    _changed()


@dataclass(frozen=True)
class SecretInfo:
    """A callback secret as operators see it (never the secret)."""

    id: str
    department: str
    configured: bool
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def describe(self, now: datetime) -> str:
        state = (
            "revoked"
            if self.revoked_at
            else "expired"
            if self.expires_at and self.expires_at <= now
            else "rotating"
            if self.expires_at
            else "active"
        )
        until = f" until {self.expires_at.isoformat(timespec='seconds')}" if self.expires_at else ""
        origin = "from settings" if self.configured else "managed"
        return f"{self.id} {self.department} {origin} {state}{until}"


async def list_secrets(session: AsyncSession) -> list[SecretInfo]:
    """Every managed callback secret, oldest first."""
    rows = (await session.scalars(select(CallbackSecret).order_by(CallbackSecret.created_at))).all()
    return [
        SecretInfo(r.id, r.department, r.secret is None, r.created_at, r.expires_at, r.revoked_at)
        for r in rows
    ]
