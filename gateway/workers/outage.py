"""A database outage is not a poison message.

A consumer whose handler fails because the saga store cannot be reached holds
the message (neither acked nor requeued, so no delivery attempt is spent and it
is never dead-lettered) and tries it again with a growing pause until the store
answers. Its other prefetched messages wait the same way, so the consumer takes
no more from the queue meanwhile; it resumes by itself.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from gateway.store.db import store_unavailable

log = structlog.get_logger()

FIRST_PAUSE_S = 0.2
LONGEST_PAUSE_S = 5.0
# A message, or a batch of them.
M = TypeVar("M")
R = TypeVar("R")


def held_through_outages(
    handler: Callable[[M], Awaitable[None]],
    *,
    first_pause_s: float = FIRST_PAUSE_S,
    longest_pause_s: float = LONGEST_PAUSE_S,
) -> Callable[[M], Awaitable[None]]:
    """`handler` (of a message or of a batch), retried for as long as the store
    is unreachable; any other error goes to the transport as before
    (redelivered, then dead-lettered)."""

    async def held(messages: M) -> None:
        pause = first_pause_s
        while True:
            try:
                await handler(messages)
            except Exception as exc:
                if not store_unavailable(exc):
                    raise
                if pause == first_pause_s:
                    log.warning("store.unavailable.holding", error=type(exc).__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, longest_pause_s)
                continue
            if pause != first_pause_s:
                log.info("store.available.resumed")
            return

    return held


async def when_store_answers(
    action: Callable[[], Awaitable[R]],
    *,
    within_s: float,
    first_pause_s: float = FIRST_PAUSE_S,
    longest_pause_s: float = LONGEST_PAUSE_S,
) -> R:
    """`action()`, tried again while the store is unreachable, for at most
    `within_s`: a process started during a database outage (a restart, a
    failover) waits for it instead of exiting; after `within_s` the error is
    raised, for the supervisor to see."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(store_unavailable),
        wait=wait_exponential(multiplier=first_pause_s, max=longest_pause_s),
        stop=stop_after_delay(within_s),
        before_sleep=_waiting,
        reraise=True,
    ):
        with attempt:
            return await action()
    raise AssertionError("unreachable: tenacity returns or raises")


def _waiting(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "store.unavailable.waiting", error=type(error).__name__, attempt=state.attempt_number
    )
