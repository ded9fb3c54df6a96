"""Later answers: the background loop that ends mps reviews and hrss card making.

A department that answers later keeps a due time on the record
(:meth:`~sandbox.store.RecordStore.schedule`). The :class:`Sweeper` wakes every
``sweep_interval_s``, lets the department decide each due record (the state is
visible to its status endpoint at once) and sends the decision as a signed
callback.
"""

import asyncio
import contextlib
from typing import Protocol

import structlog

from sandbox.callbacks import CallbackSender
from sandbox.department import Department
from sandbox.store import JsonObject, Record

log = structlog.get_logger(__name__)


class LaterAnswer(Protocol):
    """How one department ends a record whose later answer is due."""

    @property
    def department(self) -> Department:
        """The department that answers."""
        ...

    def complete(self, record: Record) -> JsonObject:
        """Decide ``record`` (updating its state) and return the callback body."""
        ...


class Sweeper:
    """Finds due later answers, decides them and hands them to the callback sender."""

    def __init__(
        self, answers: list[LaterAnswer], callbacks: CallbackSender, interval_s: float
    ) -> None:
        self._answers = answers
        self._callbacks = callbacks
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the background loop is running."""
        return self._task is not None

    def sweep(self) -> int:
        """Decide every later answer due now and send its callback; how many there were."""
        done = 0
        for answer in self._answers:
            dept = answer.department
            for record in dept.store.due(dept.now()):
                dept.store.settle(record)
                try:
                    payload = answer.complete(record)
                except Exception:  # one bad record must not stop the others
                    log.exception("sandbox.later.failed", department=dept.name, ref=record.ref)
                    continue
                self._callbacks.send(dept.name, payload)
                done += 1
        return done

    async def start(self) -> None:
        """Start the background loop (no-op when it runs already)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the background loop."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            self.sweep()
            await asyncio.sleep(self._interval_s)
