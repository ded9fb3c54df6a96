"""The parent's view, behind the tracking code and a verification."""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from sqlalchemy import select

from gateway.api.deps import RuntimeDep
from gateway.api.problems import ProblemError
from gateway.api.views import steps_of
from gateway.store.tables import Birth

router = APIRouter()

NOT_FOUND = "No birth matches this tracking code and verification"


def mask_citizen_id(value: str) -> str:
    """First 6 and last 4 characters shown, the rest hidden."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def _verified(event: dict[str, Any], given: str) -> bool:
    given = given.strip().upper()
    if len(given) != 6:
        return False
    candidates = [
        str(event.get("mother", {}).get("id_number", ""))[-6:].upper(),
        str(event.get("contact", {}).get("phone", ""))[-6:],
    ]
    return any(hmac.compare_digest(given, c) for c in candidates if len(c) == 6)


def _shown_output(output: dict[str, Any]) -> dict[str, Any]:
    return {
        key: mask_citizen_id(value) if key == "citizen_id" and value else value
        for key, value in output.items()
    }


@router.get("/v1/track/{tracking_code}", tags=["tracking"])
async def track(
    tracking_code: str,
    runtime: RuntimeDep,
    response: Response,
    x_verification: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Each step's state and document, for the parents; 404 on any mismatch."""
    response.headers["Cache-Control"] = "no-store"
    async with runtime.db.read() as session:
        birth = await session.scalar(
            select(Birth).where(Birth.tracking_code == tracking_code.strip().upper())
        )
        if birth is None or not _verified(birth.event, x_verification or ""):
            raise ProblemError(404, NOT_FOUND, headers={"Cache-Control": "no-store"})
        steps = await steps_of(session, birth.id)
    return {
        "tracking_code": birth.tracking_code,
        "status": birth.status,
        "updated_at": birth.updated_at.isoformat(),
        "steps": [
            {
                "step": s.step,
                "state": s.state,
                "updated_at": s.updated_at.isoformat(),
                "output": _shown_output(s.output),
                "reason": s.last_error,
            }
            for s in steps
        ],
    }
