"""The parents' view, behind the tracking code and a verification.

`GET /v1/track/{code}` answers the view as JSON; `GET /v1/track/{code}/events`
follows it as server-sent events. Both take the verification in the
`X-Verification` header only, answer an unknown code and a wrong verification
alike (`404`), count wrong tries per address and code, per code and per address
(`429` with `Retry-After` past a limit: `gateway.tracking.guard`) and are never
cached (`Cache-Control: no-store`). `install` adds the page at `/track`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.deps import RuntimeDep
from gateway.api.problems import ProblemError
from gateway.services.parents import Decision, decide_benefit
from gateway.settings import GatewaySettings
from gateway.store.tables import Birth
from gateway.tracking.guard import WrongTries, client_address, find_birth, trusted_networks
from gateway.tracking.page import install as install_page
from gateway.tracking.stream import updates
from gateway.tracking.view import load_view

router = APIRouter()

NOT_FOUND = "No birth matches this tracking code and verification"
NO_STORE = {"Cache-Control": "no-store"}
VerificationHeader = Annotated[
    str | None,
    Header(description="Last 6 characters of the mother's ID number or of the contact phone"),
]


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """The wrong-try counters of this app, the proxies it believes, and the page at `/track`."""
    app.state.wrong_tries = WrongTries(
        settings.tracking_rate_limit,
        settings.rate_limit_storage,
        per_code=settings.tracking_code_limit,
        per_client_code=settings.tracking_client_code_limit,
    )
    app.state.trusted_proxies = trusted_networks(settings.trusted_proxies)
    install_page(app)


def _client(request: Request) -> str:
    # The TCP peer (the servers run uvicorn without --proxy-headers); X-Forwarded-For
    # only from the proxies named in `trusted_proxies`.
    return client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        request.app.state.trusted_proxies,
    )


async def _look_up(request: Request, session: AsyncSession, code: str, given: str | None) -> Birth:
    """The birth of `code` if `given` verifies it, read in `session`."""
    wrong_tries: WrongTries = request.app.state.wrong_tries
    client = _client(request)
    wait = await wrong_tries.retry_after(client, code)
    if wait is not None:
        raise ProblemError(
            429,
            "Too many wrong tries",
            f"Try again in {wait} seconds.",
            headers={"Retry-After": str(wait), **NO_STORE},
        )
    birth = await find_birth(session, code, given or "")
    if birth is None:
        await wrong_tries.count(client, code)
        raise ProblemError(404, NOT_FOUND, headers=NO_STORE)
    await wrong_tries.remember(client, code)
    return birth


@router.get(
    "/v1/track/{tracking_code}",
    tags=["tracking"],
    responses={404: {"description": "Unknown code or wrong verification"}, 429: {}},
)
async def track(
    tracking_code: str,
    request: Request,
    runtime: RuntimeDep,
    response: Response,
    x_verification: VerificationHeader = None,
) -> dict[str, Any]:
    """Each step's state in words, time and documents, and what to do next."""
    response.headers.update(NO_STORE)
    async with runtime.db.read() as session:  # the birth and its steps at one moment
        birth = await _look_up(request, session, tracking_code, x_verification)
        return await load_view(
            session, birth, runtime.registry, runtime.clock.now(), runtime.settings.deadline_near
        )


class Confirmation(BaseModel):
    """The parents' answer to a benefit awaiting them."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision


@router.post(
    "/v1/track/{tracking_code}/confirmations/{step}",
    tags=["tracking"],
    responses={
        404: {"description": "Unknown code, wrong verification, or no such step"},
        409: {"description": "The step is not awaiting the parents"},
        429: {},
    },
)
async def confirm(
    tracking_code: str,
    step: str,
    body: Confirmation,
    request: Request,
    runtime: RuntimeDep,
    response: Response,
    x_verification: VerificationHeader = None,
) -> dict[str, Any]:
    """Confirm a benefit (it is sent to its department) or decline it (`skipped`),
    with the same verification as viewing."""
    response.headers.update(NO_STORE)
    async with runtime.db.read() as session:
        birth = await _look_up(request, session, tracking_code, x_verification)
    decided = await decide_benefit(runtime.uow, birth.id, step, body.decision)
    if decided is None or decided.state is None:
        raise ProblemError(404, "No such step", headers=NO_STORE)
    if not decided.taken:
        raise ProblemError(
            409,
            "Not awaiting the parents",
            f"{step} is {decided.state}: only a benefit awaiting the parents is confirmed "
            "or declined",
            headers=NO_STORE,
        )
    return {"step": step, "decision": body.decision, "state": decided.state}


@router.get(
    "/v1/track/{tracking_code}/events",
    tags=["tracking"],
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "`update` events"},
        404: {"description": "Unknown code or wrong verification"},
        429: {},
    },
)
async def track_events(
    tracking_code: str,
    request: Request,
    runtime: RuntimeDep,
    x_verification: VerificationHeader = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: the view now, then one `update` event per change."""
    async with runtime.db.read() as session:
        birth = await _look_up(request, session, tracking_code, x_verification)
    stream = updates(
        runtime.db,
        runtime.clock,
        runtime.registry,
        birth.id,
        last_event_id=last_event_id,
        near=runtime.settings.deadline_near,
        max_s=runtime.settings.tracking_stream_s,
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={**NO_STORE, "X-Accel-Buffering": "no"},
    )
