"""Choose the transport: RabbitMQ when a broker URL is configured, else in-process."""

from bus.base import ManagedTransport
from bus.inprocess import InProcessTransport
from bus.topology import Topology


def make_transport(amqp_url: str | None, topology: Topology | None = None) -> ManagedTransport:
    """`RabbitMQTransport(amqp_url)`, or `InProcessTransport` when `amqp_url` is None."""
    if amqp_url is None:
        return InProcessTransport(topology)
    # Imported here so that in-process users never load aio-pika.
    from bus.rabbitmq import RabbitMQTransport

    return RabbitMQTransport(amqp_url, topology)
