"""Intake: a valid birth event becomes a stored saga, in one commit.

The hospital's `(hospital.code, hospital_record_id)` is the idempotency key: the
same body again returns the birth already made; another body is a conflict.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contracts.birth import BirthEvent
from gateway.orchestrator import Orchestrator
from gateway.saga.machine import Saga
from gateway.store import sagas
from gateway.store.tables import Birth

# No look-alikes: no 0/O, no 1/I/L.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_tracking_code() -> str:
    """12 random characters grouped XXXX-XXXX-XXXX (not derived from the birth id)."""
    chars = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def body_hash(event_json: dict[str, Any]) -> str:
    """A hash of the event that ignores key order and white space."""
    canonical = json.dumps(event_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Intake:
    """What came of a post: a new birth, the same birth again, or a conflict."""

    outcome: Literal["created", "existing", "conflict"]
    birth_id: str
    tracking_code: str
    status: str


async def accept(
    orchestrator: Orchestrator,
    event: BirthEvent,
    event_json: dict[str, Any],
    *,
    actor: str,
    jurisdiction: str | None,
) -> Intake:
    """Store the birth, its steps, history and first commands; or find it again."""
    digest = body_hash(event_json)
    existing = await _find(orchestrator, event)
    if existing is not None:
        return _again(existing, digest)
    now = orchestrator.clock.now()
    saga = Saga.new(
        uuid4().hex, event, orchestrator.plan, orchestrator.policy, jurisdiction=jurisdiction
    )
    saga.advance(now)
    tracking_code = new_tracking_code()
    try:
        async with orchestrator.db.write() as session:
            sagas.insert_new(
                session,
                saga,
                hospital_code=event.hospital.code,
                hospital_record_id=event.hospital_record_id,
                tracking_code=tracking_code,
                body_hash=digest,
                event_json=event_json,
                actor=actor,
                now=now,
            )
            await sagas.save(session, sagas.Loaded(saga, 0, 0), actor=actor, now=now)
    except IntegrityError:  # the same post raced us: answer as a retry
        existing = await _find(orchestrator, event)
        if existing is None:
            raise
        return _again(existing, digest)
    orchestrator.notify_commit()
    return Intake("created", saga.birth_id, tracking_code, saga.status.value)


async def _find(orchestrator: Orchestrator, event: BirthEvent) -> Birth | None:
    async with orchestrator.db.read() as session:
        found: Birth | None = await session.scalar(
            select(Birth).where(
                Birth.hospital_code == event.hospital.code,
                Birth.hospital_record_id == event.hospital_record_id,
            )
        )
        return found


def _again(birth: Birth, digest: str) -> Intake:
    outcome: Literal["existing", "conflict"] = (
        "existing" if birth.body_hash == digest else "conflict"
    )
    return Intake(outcome, birth.id, birth.tracking_code, birth.status)
