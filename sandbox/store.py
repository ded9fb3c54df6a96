"""In-memory state of one department: what it received, per idempotency key.

A :class:`Record` is one submission (one idempotency key of a create request);
a :class:`Change` is one accepted change to it (void, amend, withdraw, …) under
its own key. Accepted answers are saved so that a repeated key replays them.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.responses import Response

JsonObject = dict[str, Any]

REFUSED = "refused"
"""State of a submission that was refused: its key is not consumed."""


@dataclass(frozen=True)
class SavedResponse:
    """An answer as sent, to replay byte for byte."""

    status_code: int
    body: bytes
    media_type: str

    def to_response(self) -> Response:
        """A fresh response with the saved status, body and media type."""
        return Response(self.body, status_code=self.status_code, media_type=self.media_type)


@dataclass
class Change:
    """An accepted change to a record, made under its own idempotency key."""

    key: str
    action: str
    data: JsonObject
    created_at: datetime
    response: SavedResponse
    requests: int = 1


@dataclass
class Record:
    """One submission: the body received, its state and the answer given."""

    key: str
    action: str
    data: JsonObject
    created_at: datetime
    state: str
    requests: int = 1
    ref: str | None = None
    """The department's reference (zmbh, RecordNo, sqbh, psn_no, sqh)."""
    response: SavedResponse | None = None
    """The saved answer; ``None`` while the submission stands refused."""
    result: JsonObject = field(default_factory=dict)
    """What a later answer produced (``gmsfhm``, ``yy``, ``kh``, ``yjrq``)."""
    due_at: datetime | None = None
    """When a later answer is due; ``None`` when none is expected."""
    changes: list[Change] = field(default_factory=list)


class RecordStore:
    """Records by idempotency key and by department reference; pending later answers."""

    def __init__(self) -> None:
        self._by_key: dict[str, Record | Change] = {}
        self._records: dict[str, Record] = {}
        self._by_ref: dict[str, Record] = {}
        self._pending: dict[str, Record] = {}

    def entry(self, key: str) -> Record | Change | None:
        """Whatever was done under ``key``: a submission, a change, or nothing."""
        return self._by_key.get(key)

    def by_ref(self, ref: str) -> Record | None:
        """The accepted record with this department reference."""
        return self._by_ref.get(ref)

    def records(self) -> list[Record]:
        """All submissions in the order their keys first arrived."""
        return list(self._records.values())

    def refuse(self, key: str, action: str, data: JsonObject, now: datetime) -> Record:
        """Note a refused submission; a later request with the key may still succeed."""
        record = self._records.get(key)
        if record is None:
            record = Record(key=key, action=action, data=data, created_at=now, state=REFUSED)
            self._records[key] = self._by_key[key] = record
        else:
            record.requests += 1
            record.data = data
        return record

    def accept(
        self,
        key: str,
        action: str,
        data: JsonObject,
        *,
        ref: str,
        state: str,
        response: SavedResponse,
        now: datetime,
    ) -> Record:
        """Keep an accepted submission under ``key`` (upgrading a refused one)."""
        record = self._records.get(key)
        if record is None:
            record = Record(key=key, action=action, data=data, created_at=now, state=state)
            self._records[key] = self._by_key[key] = record
        else:
            record.requests += 1
            record.data, record.state = data, state
        record.ref, record.response = ref, response
        self._by_ref[ref] = record
        return record

    def add_change(self, record: Record, change: Change) -> None:
        """Keep an accepted change so that its key replays it."""
        record.changes.append(change)
        self._by_key[change.key] = change

    def schedule(self, record: Record, due_at: datetime) -> None:
        """Expect a later answer for ``record`` at ``due_at``."""
        record.due_at = due_at
        self._pending[record.key] = record

    def settle(self, record: Record) -> None:
        """No later answer is expected any more (answered, withdrawn, cancelled)."""
        record.due_at = None
        self._pending.pop(record.key, None)

    def due(self, now: datetime) -> list[Record]:
        """Records whose later answer is due at ``now``, earliest first."""
        due = [r for r in self._pending.values() if r.due_at is not None and r.due_at <= now]
        return sorted(due, key=lambda r: r.due_at or now)
