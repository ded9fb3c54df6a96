"""How messages travel: the `Transport` protocol and its two implementations,
RabbitMQ (`bus.rabbitmq`, the only aio-pika user) and in-process
(`bus.inprocess`, for `birthlink up` with no broker). Same names, same rules.
`make_transport` wraps either in `SealedTransport` (`bus.sealed`): message data
is sealed on the wire.

Errors: `BusError` > `Unroutable` (no queue bound for the key), `NotConfirmedError`
(the transport did not confirm; publish again).
"""

from bus.base import (
    BatchHandler,
    BusError,
    Handler,
    ManagedTransport,
    NotConfirmedError,
    Outgoing,
    Transport,
    Unroutable,
)
from bus.factory import make_transport
from bus.inprocess import InProcessTransport
from bus.sealed import SealedTransport

__all__ = [
    "BatchHandler",
    "BusError",
    "Handler",
    "InProcessTransport",
    "ManagedTransport",
    "NotConfirmedError",
    "Outgoing",
    "SealedTransport",
    "Transport",
    "Unroutable",
    "make_transport",
]
