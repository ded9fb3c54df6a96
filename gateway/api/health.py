"""Liveness and readiness for operators and orchestrators of containers."""

from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.deps import RuntimeDep
from gateway.api.problems import ProblemError

router = APIRouter()


@router.get("/healthz", tags=["operations"])
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"])
async def readyz(runtime: RuntimeDep) -> dict[str, Any]:
    """The store and the broker are reachable."""
    checks: dict[str, str] = {}
    try:
        await runtime.db.ping()
        checks["store"] = "ok"
    except (OSError, SQLAlchemyError) as exc:  # not ready; say why
        checks["store"] = type(exc).__name__
    checks["broker"] = "ok" if await runtime.transport_ready() else "unreachable"
    if any(v != "ok" for v in checks.values()):
        raise ProblemError(503, "Not ready", checks=checks)
    return {"status": "ready", "checks": checks}
