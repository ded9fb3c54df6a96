"""The transport interface shared by RabbitMQ and the in-process bus.

Rules, the same on both:
- `publish` returns once the message is safely with the transport (broker
  confirm); an unroutable message raises `Unroutable`.
- A handler that returns acks the message. A handler that raises has it
  redelivered, up to the queue's delivery limit; then it is dead-lettered into
  `<queue>.dead`.
- Delivery is at least once: handlers de-duplicate by `message_id`.
"""

from collections.abc import Awaitable, Callable
from typing import Protocol

from contracts.envelope import Envelope

Handler = Callable[[Envelope], Awaitable[None]]


class BusError(Exception):
    """Base of the bus errors."""


class Unroutable(BusError):
    """No queue is bound for the routing key: the message would be lost."""


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
