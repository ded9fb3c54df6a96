"""How messages travel: the `Transport` protocol and its two implementations,
RabbitMQ (`bus.rabbitmq`, the only aio-pika user) and in-process
(`bus.inprocess`, for `birthlink up` with no broker). Same names, same rules.

Errors: `BusError` > `Unroutable` (no queue bound for the key), `NotConfirmedError`
(the transport did not confirm; publish again).
"""

from bus.base import (
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

__all__ = [
    "BusError",
    "Handler",
    "InProcessTransport",
    "ManagedTransport",
    "NotConfirmedError",
    "Outgoing",
    "Transport",
    "Unroutable",
    "make_transport",
]
