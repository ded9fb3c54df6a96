"""Corrections and cancellation of a stored birth, each in one transaction.

A correction is a JSON merge patch (RFC 7396) on the birth's current event; the
result is validated like a new event by the API, kept as a new version
(`birth_versions`), and handed to the saga, which decides what to send again,
what to amend, and what it refuses. A cancellation hands the saga the reason;
the saga cancels, revokes and withdraws. The birth's `version` check makes a
concurrent writer re-decide on fresh state.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.problems import (
    BirthEventInvalid,
    FieldNote,
    FieldProblem,
    normalisation_notes,
    parse_birth_event,
)
from gateway.intake import mother_hash
from gateway.orchestrator import CONFLICT_RETRIES, Orchestrator
from gateway.saga.machine import Saga
from gateway.store import sagas
from gateway.store.tables import Birth

log = structlog.get_logger()
T = TypeVar("T")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge member by member, `null` removes a member, anything
    else (arrays included) replaces the target."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


class Cancellation(BaseModel):
    """Why the birth is cancelled (for example: reported for the wrong mother);
    the API's body and the CLI's `--reason` alike."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


# What identifies the birth to the hospital cannot be corrected.
IMMUTABLE = (
    ("/hospital/code", ("hospital", "code")),
    ("/hospital_record_id", ("hospital_record_id",)),
)


@dataclass(frozen=True)
class Corrected:
    """A correction kept (or nothing to change): the birth's event version and status,
    and what the corrected event holds in another form than sent (a name's middle dot)."""

    event_version: int
    status: str
    changed: bool = True
    notes: tuple[FieldNote, ...] = ()


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        data = data.get(name) if isinstance(data, dict) else None
    return data


def immutable_problems(before: dict[str, Any], after: Any) -> list[FieldProblem]:
    """A problem for each field that identifies the birth and would change."""
    return [
        FieldProblem(
            pointer=pointer,
            code="immutable",
            message="identifies the birth and cannot be corrected",
            message_zh="用于识别出生记录，不能更正",  # noqa: RUF001
        )
        for pointer, path in IMMUTABLE
        if _at(after, path) != _at(before, path)
    ]


async def _in_transaction(
    orchestrator: Orchestrator,
    birth_id: str,
    act: Callable[[AsyncSession, Saga, datetime], Awaitable[T]],
    *,
    actor: str,
) -> T | None:
    """Load the saga, let `act` change it (and write), save; None when unknown."""
    for _ in range(CONFLICT_RETRIES):
        try:
            async with orchestrator.db.write() as session:
                loaded = await sagas.load(session, birth_id, orchestrator.plan, orchestrator.policy)
                if loaded is None:
                    return None
                now = orchestrator.clock.now()
                result = await act(session, loaded.saga, now)
                commands = await sagas.save(session, loaded, actor=actor, now=now)
        except sagas.ConcurrentUpdateError:
            log.debug("saga.conflict", birth_id=birth_id)
            continue
        if commands:
            orchestrator.notify_commit()
        return result
    raise sagas.ConcurrentUpdateError(birth_id)


async def correct(
    orchestrator: Orchestrator,
    birth_id: str,
    patch: dict[str, Any],
    *,
    lookup_key: str,
    actor: str,
) -> Corrected | None:
    """Apply `patch` to the birth's current event, validate the result like a new
    event, keep it as the next version and let the saga act on it; all in one
    transaction, so that concurrent corrections each build on the last. Raises
    `BirthEventInvalid` or `CorrectionRefusedError` (nothing is written); None
    for an unknown birth."""

    async def act(session: AsyncSession, saga: Saga, now: datetime) -> Corrected:
        birth = await session.get(Birth, birth_id)
        assert birth is not None  # loaded with the saga
        merged = merge_patch(birth.event, patch)
        problems = immutable_problems(birth.event, merged)
        if problems:
            raise BirthEventInvalid(problems)
        event = parse_birth_event(merged, now=now)
        notes = tuple(normalisation_notes(merged, event))
        if merged == birth.event:
            return Corrected(saga.event_version, saga.status.value, changed=False, notes=notes)
        version = saga.event_version + 1
        saga.correct(event, version, now)
        await sagas.add_version(
            session,
            birth_id,
            event,
            merged,
            version=version,
            mother_hash=mother_hash(lookup_key, event),
            actor=actor,
            now=now,
        )
        return Corrected(version, saga.status.value, notes=notes)

    corrected = await _in_transaction(orchestrator, birth_id, act, actor=actor)
    if corrected is not None and corrected.changed:
        log.info("birth.corrected", birth_id=birth_id, event_version=corrected.event_version)
    return corrected


async def cancel(orchestrator: Orchestrator, birth_id: str, reason: str, *, actor: str) -> bool:
    """Cancel the birth; False when it is unknown (cancelling twice is harmless)."""

    async def act(_session: AsyncSession, saga: Saga, now: datetime) -> bool:
        saga.cancel(reason, now)
        return True

    done = await _in_transaction(orchestrator, birth_id, act, actor=actor)
    if done:
        log.info("birth.cancelled", birth_id=birth_id)
    return bool(done)
