"""Sandbox controls of a department (not part of any real department's API).

``GET /{department}/_sandbox/records``: what the department received, one entry
per idempotency key, plus ``requests_total`` (every request, refused by a fault
or not). ``GET``/``POST /{department}/_sandbox/faults``: read or replace the
fault knobs. Faults never apply here.
"""

from typing import Any

from fastapi import APIRouter

from sandbox.department import Department
from sandbox.faults import Faults
from sandbox.store import Change, JsonObject, Record


def describe_record(record: Record) -> JsonObject:
    """One entry of the records listing.

    ``key``, ``requests``, ``state``, ``data``, ``created_at`` as documented; also
    ``ref`` (the department's reference), ``result`` (what a later answer
    produced) and ``changes`` (accepted changes, each under its own key).
    """
    return {
        "key": record.key,
        "requests": record.requests,
        "state": record.state,
        "data": record.data,
        "created_at": record.created_at.isoformat(),
        "ref": record.ref,
        "result": record.result,
        "changes": [_describe_change(change) for change in record.changes],
    }


def _describe_change(change: Change) -> JsonObject:
    return {
        "key": change.key,
        "action": change.action,
        "requests": change.requests,
        "data": change.data,
        "created_at": change.created_at.isoformat(),
    }


def create_router(dept: Department) -> APIRouter:
    """The ``_sandbox`` endpoints of ``dept``."""
    router = APIRouter(prefix="/_sandbox", tags=["sandbox controls"])

    @router.get("/records")
    async def records() -> dict[str, Any]:
        return {
            "records": [describe_record(record) for record in dept.store.records()],
            "requests_total": dept.requests_total,
        }

    @router.get("/faults")
    async def read_faults() -> Faults:
        return dept.faults

    @router.post("/faults")
    async def replace_faults(faults: Faults) -> Faults:
        dept.faults = faults
        return faults

    return router
