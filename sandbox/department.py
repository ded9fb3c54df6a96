"""One simulated department and the request steps all five share.

A department endpoint goes: :meth:`Department.admit` (count the request, apply
faults) → :meth:`~Department.idempotency_key` → :meth:`~Department.replay` a
saved answer (these three are :meth:`~Department.receive`) → parse and check
the body → act → save the answer. A step that
ends the request raises :class:`~sandbox.errors.EarlyAnswerError` with a response in the
department's own error shape.

What consumes an idempotency key: only an accepted answer. A request refused
by a fault (5xx, 429) creates nothing; a refusal of the data (400, nhsa's 409)
is noted on the key's record (state ``refused``) but the key stays open, so a
corrected request under the same key can still be accepted.
"""

import asyncio
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from sandbox.errors import EarlyAnswerError
from sandbox.faults import Faults, first_match
from sandbox.settings import DepartmentName
from sandbox.store import Change, JsonObject, Record, RecordStore, SavedResponse

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
ErrorRenderer = Callable[[int, str, str], Response]
"""``(status, code, message)`` → a response in the department's error shape."""
Model = TypeVar("Model", bound=BaseModel)

IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_KEY_LENGTH = 255


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def json_answer(status_code: int, body: JsonObject) -> SavedResponse:
    """A JSON answer, serialised once so that replays are byte for byte."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return SavedResponse(status_code, text.encode(), "application/json")


def describe(exc: ValidationError) -> str:
    """What is wrong with a body, by field, without echoing the values."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


class Department:
    """One department's records, fault knobs, request counter and error shape."""

    def __init__(
        self,
        name: DepartmentName,
        render_error: ErrorRenderer,
        *,
        clock: Clock = utc_now,
        default_delay_s: float = 1.5,
        rng: random.Random | None = None,
    ) -> None:
        self.name: DepartmentName = name
        self.store = RecordStore()
        self.faults = Faults()
        self.requests_total = 0
        """Every request to the department's endpoints, refused by a fault or not."""
        self.default_delay_s = default_delay_s
        self._render = render_error
        self._clock = clock
        self._rng = rng or random.Random()

    def now(self) -> datetime:
        """The department's time (the sandbox clock)."""
        return self._clock()

    def error(self, status_code: int, code: str, message: str) -> EarlyAnswerError:
        """An early answer in the department's error shape, to raise."""
        return EarlyAnswerError(self._render(status_code, code, message))

    async def admit(self) -> None:
        """Count the request, wait the configured latency, then maybe fail it."""
        self.requests_total += 1
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        injected = self.faults.draw(self.now(), self._rng)
        if injected is None:
            return
        log.info("sandbox.fault.injected", department=self.name, status=injected.status_code)
        response = self._render(injected.status_code, injected.code, injected.message)
        if injected.retry_after is not None:
            response.headers["Retry-After"] = str(injected.retry_after)
        raise EarlyAnswerError(response)

    def idempotency_key(self, request: Request) -> str:
        """The request's ``Idempotency-Key``; without one the request is a 400."""
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > _MAX_KEY_LENGTH:
            raise self.error(400, "MISSING_IDEMPOTENCY_KEY",
                             f"{IDEMPOTENCY_HEADER} header (1 to 255 characters) is required")
        return key

    def replay(self, key: str, action: str) -> None:
        """End the request with the answer saved for ``key``, counting it, if there is one."""
        entry = self.store.entry(key)
        if entry is None:
            return
        if entry.action != action:
            raise self.error(422, "IDEMPOTENCY_KEY_REUSED",
                             f"{IDEMPOTENCY_HEADER} was used for another kind of request")
        if entry.response is None:
            return
        entry.requests += 1
        log.info("sandbox.request.replayed", department=self.name, action=action)
        raise EarlyAnswerError(entry.response.to_response())

    async def receive(self, request: Request, action: str) -> tuple[str, bytes]:
        """The first steps of a request that creates or changes something.

        Admits the request, reads its key and body, and replays the saved answer
        when the key has one. Returns the key and the raw body.
        """
        await self.admit()
        key = self.idempotency_key(request)
        raw = await request.body()
        # Nothing awaits from here to the end of the request: the key's check
        # and its use are atomic on the event loop.
        self.replay(key, action)
        return key, raw

    def parse_json(self, raw: bytes) -> JsonObject:
        """The body as a JSON object; anything else is a 400."""
        try:
            data = json.loads(raw)
        except ValueError:
            raise self.error(400, "INVALID_REQUEST", "body is not valid JSON") from None
        if not isinstance(data, dict):
            raise self.error(400, "INVALID_REQUEST", "body must be a JSON object")
        return data

    def validate(self, model: type[Model], data: Any) -> Model:
        """``data`` checked against the department's model; a mismatch is a 400."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self.error(400, "INVALID_REQUEST", describe(exc)) from None

    def refuse(
        self, key: str, action: str, data: JsonObject, status_code: int, code: str, message: str
    ) -> EarlyAnswerError:
        """Note a refused submission under ``key`` and return the answer to raise."""
        self.store.refuse(key, action, data, self.now())
        log.info("sandbox.submission.refused", department=self.name, action=action, code=code)
        return self.error(status_code, code, message)

    def check_rules(self, key: str, action: str, data: JsonObject) -> None:
        """Refuse a submission that meets one of the ``reject`` rules."""
        rule = first_match(self.faults.reject, data)
        if rule is not None:
            raise self.refuse(key, action, data, 400, "REJECTED", rule.reason)

    def check_change_rules(self, changes: JsonObject) -> None:
        """Refuse a change whose fields meet one of the ``reject`` rules."""
        rule = first_match(self.faults.reject, changes)
        if rule is not None:
            raise self.error(400, "REJECTED", rule.reason)

    def accept(
        self, key: str, action: str, data: JsonObject, *, ref: str, state: str,
        answer: SavedResponse,
    ) -> Record:
        """Keep an accepted submission; ``answer`` is what its key replays."""
        record = self.store.accept(key, action, data, ref=ref, state=state, response=answer,
                                   now=self.now())
        log.debug("sandbox.submission.accepted", department=self.name, action=action, ref=ref)
        return record

    def lookup(self, ref: str) -> Record:
        """The accepted record with this reference; unknown is a 404."""
        record = self.store.by_ref(ref)
        if record is None:
            raise self.error(404, "NOT_FOUND", "no such record")
        return record

    def change(
        self, record: Record, key: str, action: str, data: JsonObject, answer: SavedResponse
    ) -> Response:
        """Keep an accepted change under its key and answer it."""
        change = Change(key=key, action=action, data=data, created_at=self.now(),
                        response=answer)
        self.store.add_change(record, change)
        log.info("sandbox.record.changed", department=self.name, action=action, ref=record.ref,
                 state=record.state)
        return answer.to_response()

    def later_due(self) -> datetime:
        """When a later answer started now is due (faults' delay, else the default)."""
        delay = self.faults.later_delay_s
        return self.now() + timedelta(seconds=self.default_delay_s if delay is None else delay)

    def new_ref(self, make: Callable[[random.Random], str]) -> str:
        """A department reference made by ``make`` that no record has yet."""
        while True:
            ref = make(self._rng)
            if self.store.by_ref(ref) is None:
                return ref
