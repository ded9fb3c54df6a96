"""The transport interface shared by RabbitMQ and the in-process bus.

Rules, the same on both:
- `publish` returns once the message is safely with the transport (broker
  confirm); an unroutable message raises `Unroutable`.
- A handler that returns acks the message. A handler that raises has it
  delivered again, until the handler has raised `topology.delivery_limit`
  times on that message; then it is dead-lettered into `<queue>.dead`.
- Only failures of the handler count. A message whose consumer was lost while
  holding it (process killed, connection lost, `close` giving up on a running
  handler) comes back without counting one. On RabbitMQ, a message that takes
  its consumer down on every delivery is dead-lettered all the same after
  `topology.crash_limit` deliveries in all (the broker's own count).
- Delivery is at least once: handlers de-duplicate by `message_id`.
"""

from collections.abc import Awaitable, Callable, Iterable
from typing import NamedTuple, Protocol

from contracts.envelope import Envelope

Handler = Callable[[Envelope], Awaitable[None]]
# Handles several messages at once (one transaction for all); see `subscribe_batch`.
BatchHandler = Callable[[list[Envelope]], Awaitable[None]]


class DeadLetter(NamedTuple):
    """A message its handler kept failing on, with where it was first published
    (the exchange's unprefixed name and the routing key), to re-drive it there.
    Either may be unknown (None) when the broker did not say."""

    envelope: Envelope
    exchange: str | None
    routing_key: str | None


# Stores dead letters somewhere safe; they leave the broker once it returns.
Keeper = Callable[[list[DeadLetter]], Awaitable[None]]


class BusError(Exception):
    """Base of the bus errors."""


class Unroutable(BusError):  # noqa: N818 -- the name callers already use
    """No queue is bound for the routing key: the message would be lost."""


class NotConfirmedError(BusError):
    """The transport did not confirm the message (refused, or the connection was
    lost before the confirm): it may or may not have been delivered; publish it
    again (consumers de-duplicate by `message_id`)."""


class Outgoing(NamedTuple):
    """One message of a batch (`publish_many`)."""

    envelope: Envelope
    exchange: str
    routing_key: str


class Transport(Protocol):
    """Publish envelopes to an exchange; consume a queue with a handler."""

    async def start(self) -> None:
        """Connect and declare the topology (idempotent)."""
        ...

    async def publish(self, envelope: Envelope, *, exchange: str, routing_key: str) -> None:
        """Publish durably; return after the transport confirmed."""
        ...

    async def subscribe(self, queue: str, handler: Handler, *, prefetch: int = 50) -> None:
        """Consume `queue` with `handler` until `close`."""
        ...

    async def close(self) -> None:
        """Stop consuming, let running handlers finish, disconnect."""
        ...


class ManagedTransport(Transport, Protocol):
    """What both our transports offer beyond `Transport`: pipelined batches for
    the outbox relay, batched consumption for the orchestrator, and a look at
    queues for operators and tests."""

    @property
    def survives_restart(self) -> bool:
        """Whether queued messages outlive this process (a broker keeps them;
        the in-process bus loses them with it)."""
        ...

    async def ready(self) -> bool:
        """Whether the transport can carry messages now (readiness probes)."""
        ...

    async def subscribe_batch(
        self, queue: str, handler: BatchHandler, *, size: int = 50, wait_s: float = 0.005
    ) -> None:
        """Consume `queue` in batches: up to `size` messages, or what arrived
        within `wait_s` of the first. The batch is acked once `handler` returned.
        When it raises, each message is handed to it again alone, so that a bad
        message fails (and counts a failure towards its delivery limit) alone."""
        ...

    async def publish_many(self, items: Iterable[Outgoing]) -> list[BusError | None]:
        """Publish all, then wait for all confirms; one outcome per item, in order
        (`None`: confirmed; `Unroutable` or `NotConfirmedError` otherwise)."""
        ...

    async def dead_letters(self, queue: str) -> list[Envelope]:
        """The envelopes dead-lettered from `queue` (a base name such as
        `department_queue("nhc")`), left where they are."""
        ...

    async def take_dead_letters(self, queue: str, keep: Keeper) -> int:
        """Hand the envelopes dead-lettered from `queue` to `keep` and take them
        off `<queue>.dead` only once it returns: if it raises, or the process
        dies first, they stay (at least once). Returns how many were taken."""
        ...

    async def depth(self, queue: str) -> int:
        """How many messages wait in `queue`, not counting those being handled."""
        ...
