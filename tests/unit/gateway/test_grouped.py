"""Group commit: callers that arrive while a batch is written go together in
the next one; a caller alone is not kept waiting; each hears its own outcome."""

import asyncio

import pytest

from gateway.services.grouped import Grouped


class Writer:
    """Records each batch; holds it open until `release` is set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Event()

    async def __call__(self, items: list[int]) -> list[int | Exception]:
        self.batches.append(items)
        self.started.set()
        await self.release.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_a_caller_alone_is_written_at_once() -> None:
    writer = Writer()
    group = Grouped(writer, most=10)
    assert await group(2) == 20
    assert await group(4) == 40
    assert writer.batches == [[2], [4]]


async def test_callers_arriving_during_a_batch_go_together_in_the_next() -> None:
    writer = Writer()
    writer.release.clear()
    group = Grouped(writer, most=3)
    first = asyncio.create_task(group(0))
    await writer.started.wait()
    later = [asyncio.create_task(group(i)) for i in (2, 4, 6, 8)]
    await asyncio.sleep(0)  # they are all waiting now
    writer.release.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [20, 40, 60, 80]
    assert writer.batches == [[0], [2, 4, 6], [8]]  # at most 3 a batch


async def test_each_caller_hears_its_own_outcome() -> None:
    writer = Writer()
    writer.release.clear()
    group = Grouped(writer, most=10)
    blocker = asyncio.create_task(group(0))
    await writer.started.wait()
    odd, even = asyncio.create_task(group(1)), asyncio.create_task(group(2))
    await asyncio.sleep(0)
    writer.release.set()
    await blocker
    with pytest.raises(ValueError, match="odd 1"):
        await odd
    assert await even == 20
    assert writer.batches == [[0], [1, 2]]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    calls: list[list[int]] = []

    async def broken(items: list[int]) -> list[int | Exception]:
        calls.append(items)
        if len(calls) == 1:
            raise ConnectionError("store down")
        return list(items)

    group = Grouped(broken, most=10)
    with pytest.raises(ConnectionError):
        await group(1)
    assert await group(2) == 2


async def test_a_caller_gone_before_its_batch_began_is_left_out() -> None:
    writer = Writer()
    writer.release.clear()
    group = Grouped(writer, most=10)
    blocker = asyncio.create_task(group(0))
    await writer.started.wait()
    gone, stays = asyncio.create_task(group(2)), asyncio.create_task(group(4))
    await asyncio.sleep(0)
    gone.cancel()
    writer.release.set()
    await blocker
    assert await stays == 40
    assert gone.cancelled()
    assert writer.batches == [[0], [4]]
