"""Corrections and cancellation of a stored birth, each in one transaction.

A correction is a JSON merge patch (RFC 7396) on the birth's current event (as
posted); the result is validated like a new event, kept as a new version
(`birth_versions`), and handed to the saga, which decides what to send again,
what to amend, and what it refuses. A cancellation hands the saga the reason;
the saga cancels, revokes and withdraws. The birth's `version` check makes a
concurrent writer re-decide on fresh state.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import structlog
from pydantic import BaseModel, ConfigDict, StringConstraints

from contracts.problems import (
    BirthEventInvalid,
    FieldNote,
    FieldProblem,
    normalisation_notes,
    parse_birth_event,
)
from gateway.saga.machine import Saga
from gateway.services.unit_of_work import UnitOfWork

log = structlog.get_logger()


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


async def correct(
    uow: UnitOfWork, birth_id: str, patch: dict[str, Any], *, actor: str
) -> Corrected | None:
    """Apply `patch` to the birth's current event, validate the result like a new
    event, keep it as the next version and let the saga act on it; all in one
    transaction, so that concurrent corrections each build on the last. Raises
    `BirthEventInvalid` or `CorrectionRefusedError` (nothing is written); None
    for an unknown birth."""

    def decide(saga: Saga, now: datetime) -> Corrected:
        merged = merge_patch(saga.source, patch)
        problems = immutable_problems(saga.source, merged)
        if problems:
            raise BirthEventInvalid(problems)
        event = parse_birth_event(merged, now=now)
        notes = tuple(normalisation_notes(merged, event))
        if merged == saga.source:
            return Corrected(saga.event_version, saga.status.value, changed=False, notes=notes)
        version = saga.event_version + 1
        saga.correct(event, version, now, merged)
        return Corrected(version, saga.status.value, notes=notes)

    done = await uow.change(birth_id, decide, actor=actor)
    if done is None:
        return None
    corrected = done.result
    assert corrected is not None
    if corrected.changed:
        log.info("birth.corrected", birth_id=birth_id, event_version=corrected.event_version)
    return corrected


async def cancel(uow: UnitOfWork, birth_id: str, reason: str, *, actor: str) -> str | None:
    """Cancel the birth; its status then (`cancelling` while departments still
    hold something, else `cancelled`), None when it is unknown (cancelling twice
    is harmless)."""

    def decide(saga: Saga, now: datetime) -> str:
        saga.cancel(reason, now)
        return saga.status.value

    done = await uow.change(birth_id, decide, actor=actor)
    if done is None:
        return None
    log.info("birth.cancel_asked", birth_id=birth_id, status=done.result)
    return done.result
