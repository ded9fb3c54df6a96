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
    grouped = Grouped(writer, most=10)
    assert await grouped(2) == 20
    assert await grouped(4) == 40
    assert writer.batches == [[2], [4]]


async def behind_a_batch(
    writer: Writer, grouped: Grouped[int, int], *items: int
) -> tuple[asyncio.Task[int], list[asyncio.Task[int]]]:
    """A first batch, `[0]`, held open by `writer`, and callers of `items`
    arriving while it is; `writer.release.set()` lets it go on."""
    writer.release.clear()
    first = asyncio.create_task(grouped(0))
    await writer.started.wait()
    later = [asyncio.create_task(grouped(i)) for i in items]
    await asyncio.sleep(0)  # they are all waiting now
    return first, later


async def test_callers_arriving_during_a_batch_go_together_in_the_next() -> None:
    writer = Writer()
    first, later = await behind_a_batch(writer, Grouped(writer, most=3), 2, 4, 6, 8)
    writer.release.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [20, 40, 60, 80]
    assert writer.batches == [[0], [2, 4, 6], [8]]  # at most 3 a batch


async def test_each_caller_hears_its_own_outcome() -> None:
    writer = Writer()
    first, (odd, even) = await behind_a_batch(writer, Grouped(writer, most=10), 1, 2)
    writer.release.set()
    await first
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

    grouped = Grouped(broken, most=10)
    with pytest.raises(ConnectionError):
        await grouped(1)
    assert await grouped(2) == 2


async def test_a_caller_gone_before_its_batch_began_is_left_out() -> None:
    writer = Writer()
    first, (gone, stays) = await behind_a_batch(writer, Grouped(writer, most=10), 2, 4)
    gone.cancel()
    writer.release.set()
    await first
    assert await stays == 40
    assert gone.cancelled()
    assert writer.batches == [[0], [4]]
