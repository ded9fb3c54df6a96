"""Intake: a valid birth event becomes a stored saga, in one transaction.

The hospital's `(hospital.code, hospital_record_id)` is the idempotency key: the
same body again returns the birth already made; another body is a conflict.

The duplicate rule: another `hospital_record_id` with the same mother (found by
a keyed hash of her ID, never the number), the same `child.born_at` and the same
`birth_order` is a likely duplicate unless the hospital sets
`duplicate_of_checked`. Twins (another birth order) are not; a cancelled birth
is no longer one.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal
from uuid import uuid4

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.birth import BirthEvent
from contracts.steps import BirthStatus
from gateway.saga.machine import Saga
from gateway.services.unit_of_work import UnitOfWork
from gateway.store.sagas import NewBirth
from gateway.store.tables import Birth

# A birth whose cancel was asked is no duplicate of a new one.
CANCEL_ASKED = (BirthStatus.CANCELLING.value, BirthStatus.CANCELLED.value)
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
    """What came of a post: a new birth, the same birth again, a conflict, or a
    likely duplicate of `birth_id` (`same_hospital`: whether the caller may see it)."""

    outcome: Literal["created", "existing", "conflict", "duplicate"]
    birth_id: str
    tracking_code: str
    status: str
    same_hospital: bool = True


async def accept(
    uow: UnitOfWork, event: BirthEvent, event_json: dict[str, Any], *, actor: str
) -> Intake:
    """Store the birth, its steps, history and first commands; or find it again.
    One transaction: the look for the same or a duplicate birth, then the insert."""
    digest = body_hash(event_json)
    mother = uow.mother_hash(event)
    now = uow.clock.now()
    saga = Saga.new(uuid4().hex, event, uow.plan, uow.policy, now=now, source=event_json)
    saga.advance(now)
    birth = NewBirth(
        id=saga.birth_id,
        hospital_code=event.hospital.code,
        hospital_record_id=event.hospital_record_id,
        tracking_code=new_tracking_code(),
        born_at=event.child.born_at,
        event=event_json,
        body_hash=digest,
        mother_hash=mother,
        duplicate_key=uow.duplicate_key(event),
    )

    async def known(session: AsyncSession) -> Intake | None:
        existing, duplicate = await _look(
            session, event, None if event.duplicate_of_checked else mother
        )
        if existing is not None:
            return _again(existing, digest)
        if duplicate is not None:
            return _duplicate(duplicate, event)
        return None

    try:
        found = await uow.add(saga, birth, actor=actor, unless=known)
    except IntegrityError:  # another post raced us: the same one, or the same birth
        async with uow.db.read() as session:
            existing, _ = await _look(session, event, None)
            if existing is not None:
                return _again(existing, digest)
        duplicate = await _by_duplicate_key(uow, birth.duplicate_key)
        if duplicate is None:
            raise
        return _duplicate(duplicate, event)
    return found or Intake("created", saga.birth_id, birth.tracking_code, saga.status.value)


async def _look(
    session: AsyncSession, event: BirthEvent, mother: str | None
) -> tuple[Birth | None, Birth | None]:
    """In one statement: the birth posted under this hospital record id, and (given
    the mother's hash) the first birth not cancelled of the same mother, birth time
    and birth order under another record id."""
    same = (Birth.hospital_code == event.hospital.code) & (
        Birth.hospital_record_id == event.hospital_record_id
    )
    alike = (Birth.mother_hash == mother) & Birth.status.not_in(CANCEL_ASKED)
    rows = (
        await session.scalars(
            select(Birth)
            .where(same if mother is None else or_(same, alike))
            .order_by(Birth.created_at)
        )
    ).all()
    existing = next(
        (b for b in rows if (b.hospital_code, b.hospital_record_id) == event.natural_key), None
    )
    return existing, next((b for b in rows if _same_child(b, event)), None)


def _same_child(birth: Birth, event: BirthEvent) -> bool:
    if (birth.hospital_code, birth.hospital_record_id) == event.natural_key:
        return False
    if birth.born_at != event.child.born_at:
        return False
    stored = BirthEvent.model_validate(birth.event, context={"time_rules": False})
    return stored.child.birth_order == event.child.birth_order


async def _by_duplicate_key(uow: UnitOfWork, key: str | None) -> Birth | None:
    if key is None:
        return None
    async with uow.db.read() as session:
        found: Birth | None = await session.scalar(select(Birth).where(Birth.duplicate_key == key))
        return found


def _duplicate(birth: Birth, event: BirthEvent) -> Intake:
    same_hospital = birth.hospital_code == event.hospital.code
    return Intake(
        "duplicate", birth.id, birth.tracking_code, birth.status, same_hospital=same_hospital
    )


def _again(birth: Birth, digest: str) -> Intake:
    outcome: Literal["existing", "conflict"] = (
        "existing" if birth.body_hash == digest else "conflict"
    )
    return Intake(outcome, birth.id, birth.tracking_code, birth.status)
