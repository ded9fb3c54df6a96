"""Choose the transport: RabbitMQ when a broker URL is configured, else in-process;
either way sealed (`bus.sealed`), so that both behave the same."""

from bus.base import ManagedTransport
from bus.inprocess import InProcessTransport
from bus.sealed import SealedTransport
from bus.topology import Topology
from contracts.sealing import Keyring


def make_transport(
    amqp_url: str | None, keyring: Keyring, topology: Topology | None = None
) -> ManagedTransport:
    """`RabbitMQTransport(amqp_url)`, or `InProcessTransport` when `amqp_url` is
    None, sealing every message's data under `keyring`."""
    inner: ManagedTransport
    if amqp_url is None:
        inner = InProcessTransport(topology)
    else:
        # Imported here so that in-process users never load aio-pika.
        from bus.rabbitmq import RabbitMQTransport

        inner = RabbitMQTransport(amqp_url, topology)
    return SealedTransport(inner, keyring)
