"""Group commit, one level above the database's own: callers that arrive while
a batch runs wait, and go together in the next one. Nobody waits for a window:
a caller alone has its batch started at once, so latency is unchanged when the
system is quiet, and under load one transaction carries many callers (one
commit, one statement a table, instead of one each). Reads group the same way.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

# One outcome per item, in order: its result, or the error that its caller raises.
Run = Callable[[list[In]], Awaitable[Sequence[Out | Exception]]]


class Grouped(Generic[In, Out]):
    """`await grouped(item)` runs `run` on a batch of at most `most` items that
    includes `item`, one batch at a time, and returns `item`'s outcome."""

    def __init__(self, run: Run[In, Out], *, most: int) -> None:
        self._run, self._most = run, most
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._running: asyncio.Task[None] | None = None

    async def __call__(self, item: In) -> Out:
        outcome: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, outcome))
        if self._running is None:
            self._running = asyncio.create_task(self._run_all())
        return await outcome

    async def _run_all(self) -> None:
        batch: list[tuple[In, asyncio.Future[Out]]] = []
        try:
            while self._waiting:
                # A caller gone before its batch began (its client went away) is
                # left out; one gone during it is run, as when a request is
                # cancelled while its transaction commits.
                batch = [w for w in self._waiting[: self._most] if not w[1].done()]
                del self._waiting[: self._most]
                if not batch:
                    continue
                try:
                    outcomes = await self._run([item for item, _ in batch])
                except Exception as exc:  # noqa: BLE001 (every caller of the batch hears it)
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._running = None
            for _, future in [*batch, *self._waiting]:  # only when the loop is stopping
                future.cancel()
            self._waiting.clear()
