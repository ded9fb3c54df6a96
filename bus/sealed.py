"""Sealed messages: nothing personal waits in the broker's queues in clear.

`SealedTransport` wraps either transport. Every envelope's `data` (the records:
names, ID numbers, addresses) is sealed before it is published and opened
before a handler sees it (`contracts.sealing`, with the message id as associated
data, so sealed data moved into another message does not open). The rest of the
envelope (type, birth id, step, message id) stays readable for routing, logs
and operators.

Keys: `BIRTHLINK_BUS_KEYS` (`kid:base64key,...`; the first seals, every one
opens), the same ring in every process on the bus: the gateway's roles and the
adapters. The adapters hold this ring, never the store's data keys. Rotation:
add the new key second everywhere, then move it first, then drop the old one
once nothing sealed under it is left in the queues or their dead letters.

A message that does not open (its key is not in the ring) fails its handler:
it is redelivered up to the delivery limit, then dead-lettered; the
dead-letter mover then leaves that queue's dead letters on the broker (the other
queues' move on) and logs `dead_letters.queue_failed` and the key id until the
key is back.
"""

from collections.abc import Iterable

from bus.base import (
    BatchHandler,
    BusError,
    DeadLetter,
    Handler,
    Keeper,
    ManagedTransport,
    Outgoing,
)
from contracts.envelope import Envelope
from contracts.sealing import Keyring

DEV_BUS_KEYS = Keyring.development("bus")  # any deployment sets its own


class SealedTransport:
    """A `ManagedTransport` that seals what it publishes and opens what it delivers."""

    def __init__(self, inner: ManagedTransport, keyring: Keyring) -> None:
        self.inner, self.keyring = inner, keyring

    @property
    def survives_restart(self) -> bool:
        return self.inner.survives_restart

    def seal(self, envelope: Envelope) -> Envelope:
        sealed = self.keyring.seal(envelope.data, context=envelope.message_id)
        return envelope.model_copy(update={"data": sealed})

    def open(self, envelope: Envelope) -> Envelope:
        opened = self.keyring.open(envelope.data, context=envelope.message_id)
        return envelope.model_copy(update={"data": opened})

    async def start(self) -> None:
        await self.inner.start()

    async def publish(self, envelope: Envelope, *, exchange: str, routing_key: str) -> None:
        await self.inner.publish(self.seal(envelope), exchange=exchange, routing_key=routing_key)

    async def publish_many(self, items: Iterable[Outgoing]) -> list[BusError | None]:
        return await self.inner.publish_many(
            [item._replace(envelope=self.seal(item.envelope)) for item in items]
        )

    async def subscribe(self, queue: str, handler: Handler, *, prefetch: int = 50) -> None:
        async def opened(envelope: Envelope) -> None:
            await handler(self.open(envelope))

        await self.inner.subscribe(queue, opened, prefetch=prefetch)

    async def subscribe_batch(
        self, queue: str, handler: BatchHandler, *, size: int = 50, wait_s: float = 0.005
    ) -> None:
        async def opened(envelopes: list[Envelope]) -> None:
            await handler([self.open(envelope) for envelope in envelopes])

        await self.inner.subscribe_batch(queue, opened, size=size, wait_s=wait_s)

    async def dead_letters(self, queue: str) -> list[Envelope]:
        return [self.open(envelope) for envelope in await self.inner.dead_letters(queue)]

    async def take_dead_letters(self, queue: str, keep: Keeper) -> int:
        async def opened(letters: list[DeadLetter]) -> None:
            await keep([letter._replace(envelope=self.open(letter.envelope)) for letter in letters])

        return await self.inner.take_dead_letters(queue, opened)

    async def ready(self) -> bool:
        return await self.inner.ready()

    async def depth(self, queue: str) -> int:
        return await self.inner.depth(queue)

    async def close(self) -> None:
        await self.inner.close()
