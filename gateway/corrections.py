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
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.birth import BirthEvent
from gateway.orchestrator import CONFLICT_RETRIES, Orchestrator
from gateway.saga.machine import Saga
from gateway.store import sagas

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


@dataclass(frozen=True)
class Corrected:
    """A correction kept: the birth's new event version and status."""

    event_version: int
    status: str


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
    event: BirthEvent,
    event_json: dict[str, Any],
    *,
    mother_hash: str,
    actor: str,
) -> Corrected | None:
    """Keep `event` as the birth's next version and let the saga act on it.
    Raises `CorrectionRefusedError` (nothing is written); None for an unknown birth."""

    async def act(session: AsyncSession, saga: Saga, now: datetime) -> Corrected:
        version = saga.event_version + 1
        saga.correct(event, version, now)
        await sagas.add_version(
            session,
            birth_id,
            event,
            event_json,
            version=version,
            mother_hash=mother_hash,
            actor=actor,
            now=now,
        )
        return Corrected(version, saga.status.value)

    corrected = await _in_transaction(orchestrator, birth_id, act, actor=actor)
    if corrected is not None:
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
