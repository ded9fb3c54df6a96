"""The RabbitMQ transport: the only user of aio-pika.

Declares the topology of `bus.topology` as durable topic exchanges and durable
quorum queues that dead-letter at least once into `<queue>.dead`; publishes
persistent, mandatory messages and waits for the broker's confirm; consumes
each subscription on its own channel with a prefetch, acking after the handler
returned.

When the handler raises, the message's failures are counted in a header of its
own (`x-birthlink-failures`): below `topology.delivery_limit` a copy with the
new count is published back to the queue (default exchange, confirmed) and the
original acked; at the limit it is rejected, which dead-letters it. The first
exchange and routing key travel in headers too, so that a dead letter is
re-driven to where it was first published. Only if the copy cannot be
published is the original nacked with requeue, left to the broker's count.

RabbitMQ 3.10 facts this relies on (checked against the broker here):
- A nack with requeue and a channel lost with the message unacked both count
  as a delivery (`x-delivery-count` header on the redelivery): the broker
  cannot tell a failing handler from a killed consumer. Hence the header, and
  the broker's `x-delivery-limit` only as the net for a message that kills its
  consumer every time: `topology.crash_limit` deliveries in all.
- `x-delivery-limit: n` allows n + 1 deliveries; so `crash_limit` is declared
  as `crash_limit - 1`.
- Redeclaring a queue with another `x-delivery-limit` (or none) fails with
  PRECONDITION_FAILED, and a policy's `delivery-limit` only lowers the
  argument's. A queue declared by an older version (limit `delivery_limit - 1`)
  is therefore kept as it is, with a warning: handler failures are counted
  right on it, kills of consumers still count towards its old limit until it
  is drained and deleted (then declared anew).
- A mandatory message that no queue takes comes back as `basic.return`,
  matched to its publish by `message_id`: aio-pika then resolves the publish
  with the returned message instead of `Basic.Ack`. Hence `message_id` is
  unique within one round of concurrent publishes on the channel.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NoReturn, TypeVar

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
)
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from bus.base import (
    BatchHandler,
    BusError,
    DeadLetter,
    Handler,
    Keeper,
    NotConfirmedError,
    Outgoing,
    Unroutable,
)
from bus.failover import RoundRobinConnection, node_urls
from bus.logcontext import message_context
from bus.topology import QueueSpec, Topology, dead_letter_queue
from contracts.envelope import Envelope

log = structlog.get_logger(__name__)
_C = TypeVar("_C")

# What a publish, ack or cancel raises when the broker or the connection fails it.
_AMQP_FAILURES = (
    aiormq.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
    TimeoutError,
)
# Deliveries received just before a consumer was cancelled reach their handler
# through two scheduled tasks (aiormq, then aio-pika): let them start before
# waiting for in-flight handlers. A message that still slips through is
# returned by the broker when the channel closes: late, never lost.
_HANDOFF_STEPS = 3


# Headers of our own on a message (those of the broker start with `x-` too).
FAILURES_HEADER = "x-birthlink-failures"  # how many times a handler raised on it
FIRST_EXCHANGE_HEADER = "x-birthlink-exchange"  # where it was first published
FIRST_ROUTING_KEY_HEADER = "x-birthlink-routing-key"


def queue_arguments(topology: Topology, spec: QueueSpec) -> dict[str, Any]:
    """A work queue: quorum, bounded deliveries, at-least-once dead-lettering."""
    single_active = {"x-single-active-consumer": True} if spec.single_active else {}
    return {
        **single_active,
        "x-queue-type": "quorum",
        "x-delivery-limit": topology.crash_limit - 1,
        "x-dead-letter-exchange": topology.dead_letter_exchange,
        "x-dead-letter-routing-key": dead_letter_queue(spec.name),
        "x-dead-letter-strategy": "at-least-once",
        # at-least-once dead-lettering requires it: refuse publishes rather than drop.
        "x-overflow": "reject-publish",
    }


DEAD_LETTER_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}


async def declare_topology(connection: AbstractConnection, topology: Topology) -> frozenset[str]:
    """Declare every exchange, queue and binding (idempotent). Returns the work
    queues found declared with another `x-delivery-limit` (by an older version):
    those are kept as they are."""
    older: set[str] = set()
    channel = await connection.channel()
    try:
        await channel.declare_exchange(
            topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        for name in topology.exchanges:
            await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
        for spec in topology.queues:
            dead_name = dead_letter_queue(spec.name)
            dead = await channel.declare_queue(
                dead_name, durable=True, arguments=DEAD_LETTER_QUEUE_ARGUMENTS
            )
            await dead.bind(topology.dead_letter_exchange, routing_key=dead_name)
            try:
                queue = await channel.declare_queue(
                    spec.name, durable=True, arguments=queue_arguments(topology, spec)
                )
            except aiormq.exceptions.ChannelPreconditionFailed as exc:
                if "'x-delivery-limit'" not in str(exc):
                    raise
                log.warning("bus.queue.older_delivery_limit", queue=spec.name, error=str(exc))
                older.add(spec.name)
                await channel.close()  # the broker closed it: take a new one
                channel = await connection.channel()
                queue = await channel.declare_queue(spec.name, passive=True)
            for key in spec.bindings:
                await queue.bind(spec.exchange, routing_key=key)
    finally:
        await channel.close()
    return frozenset(older)


class _LookOnlyError(Exception):
    """Raised by a look at dead letters so that they are requeued, not taken."""


@dataclass
class _Subscription:
    """Strong references to what aio-pika restores after a reconnect: the
    robust connection only holds its channels weakly."""

    spec: QueueSpec
    handler: Handler
    channel: AbstractRobustChannel
    queue: AbstractRobustQueue
    consumer_tag: str = ""
    batcher: asyncio.Task[None] | None = None  # a batch subscription's worker


@dataclass
class _InFlight:
    """Handlers running now; `idle` is set when there are none."""

    count: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    def enter(self) -> None:
        self.count += 1
        self.idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if not self.count:
            self.idle.set()


class RabbitMQTransport:
    """A `Transport` on RabbitMQ through one robust aio-pika connection."""

    survives_restart = True

    def __init__(
        self,
        url: str,
        topology: Topology | None = None,
        *,
        connection_name: str = "birthlink",
        reconnect_interval: float = 5.0,
        publish_timeout: float = 30.0,
        close_timeout: float = 10.0,
        drain_timeout: float | None = 60.0,
        start_wait_s: float = 120.0,
    ) -> None:
        """`drain_timeout`: how long `close` waits for running handlers (None:
        forever); a handler still running then is abandoned, and the broker
        delivers its message again. `start_wait_s`: how long `start` waits for
        a broker that is down (a process started during its restart)."""
        self.topology = topology or Topology()
        self.connection_name = connection_name
        self._url = url
        self._reconnect_interval = reconnect_interval
        self._publish_timeout = publish_timeout
        self._close_timeout = close_timeout
        self._drain_timeout = drain_timeout
        self._start_wait_s = start_wait_s
        self._start_lock = asyncio.Lock()
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._subscriptions: list[_Subscription] = []
        self._older_queues: frozenset[str] = frozenset()  # see `declare_topology`
        self._in_flight = _InFlight()
        self._closed = False

    async def start(self) -> None:
        """Connect, declare the topology, open the publishing channel (idempotent)."""
        async with self._start_lock:
            if self._closed:
                raise NotConfirmedError("the RabbitMQ transport is closed")
            if self._connection is not None:
                return
            connection = await self._first_connection()
            try:
                self._older_queues = await declare_topology(connection, self.topology)
                publish_channel = await connection.channel(publisher_confirms=True)
                self._exchanges = {
                    name: await publish_channel.declare_exchange(
                        name, aio_pika.ExchangeType.TOPIC, durable=True
                    )
                    for name in self.topology.exchanges
                }
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
            self._publish_channel = publish_channel
            log.info("bus.connected", connection_name=self.connection_name)

    async def _first_connection(self) -> AbstractRobustConnection:
        """`_connect_robust`, tried again for `start_wait_s` while no node answers."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((*_AMQP_FAILURES, OSError)),
            wait=wait_exponential(multiplier=0.2, max=5),
            stop=stop_after_delay(self._start_wait_s),
            before_sleep=lambda state: log.warning(
                "bus.unreachable.waiting",
                attempt=state.attempt_number,
                error=repr(state.outcome.exception()) if state.outcome else None,
            ),
            reraise=True,
        ):
            with attempt:
                return await self._connect_robust()
        raise AssertionError("unreachable: tenacity returns or raises")

    async def _connect_robust(self) -> AbstractRobustConnection:
        """A robust connection over the cluster's nodes (it fails over by itself
        once connected; a first connection that fails it does not retry)."""
        return await self._on_a_node(
            lambda nodes: aio_pika.connect_robust(
                ",".join(nodes),
                connection_class=RoundRobinConnection,
                client_properties={"connection_name": self.connection_name},
                reconnect_interval=self._reconnect_interval,
            )
        )

    async def _on_a_node(self, connect: Callable[[list[str]], Awaitable[_C]]) -> _C:
        """`connect(nodes)` with each node of the cluster first in turn, until one answers."""
        nodes = node_urls(self._url)
        for turn in range(len(nodes) - 1):
            with suppress(*_AMQP_FAILURES, OSError):
                return await connect(nodes[turn:] + nodes[:turn])
        return await connect(nodes[-1:] + nodes[:-1])

    async def ready(self) -> bool:
        """Whether we are connected to the broker now (False while reconnecting)."""
        connection = self._connection
        return connection is not None and not connection.is_closed and connection.connected.is_set()

    async def publish(self, envelope: Envelope, *, exchange: str, routing_key: str) -> None:
        """Publish persistently and mandatorily; return after the broker's confirm."""
        await self._started()
        await self._publish(Outgoing(envelope, exchange, routing_key))

    async def publish_many(self, items: Iterable[Outgoing]) -> list[BusError | None]:
        """Publish all, then wait for all confirms; one outcome per item, in order."""
        await self._started()
        pending = list(items)
        outcomes: list[BusError | None] = [None] * len(pending)
        # aio-pika matches a returned (unroutable) message to its publish by
        # message_id: never have two in flight with the same id.
        rounds: list[list[int]] = []
        seen: Counter[str] = Counter()
        for index, item in enumerate(pending):
            turn = seen[item.envelope.message_id]
            seen[item.envelope.message_id] += 1
            if turn == len(rounds):
                rounds.append([])
            rounds[turn].append(index)
        for indices in rounds:
            results = await asyncio.gather(
                *(self._publish(pending[i]) for i in indices), return_exceptions=True
            )
            for index, result in zip(indices, results, strict=True):
                if isinstance(result, BusError):
                    outcomes[index] = result
                elif isinstance(result, BaseException):
                    raise result
        return outcomes

    async def subscribe(self, queue: str, handler: Handler, *, prefetch: int = 50) -> None:
        """Consume `queue` on a channel of its own, at most `prefetch` at a time."""
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        spec = self.topology.queue(queue)
        await self.start()
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        amqp_queue = await self._consume_queue(channel, spec)
        subscription = _Subscription(spec, handler, channel, amqp_queue)
        subscription.consumer_tag = await amqp_queue.consume(
            partial(self._on_message, subscription)
        )
        self._subscriptions.append(subscription)
        log.info("bus.subscribed", queue=spec.name, prefetch=prefetch)

    async def subscribe_batch(
        self, queue: str, handler: BatchHandler, *, size: int = 50, wait_s: float = 0.005
    ) -> None:
        """Consume `queue` in batches of up to `size` (see `Transport`), with a
        prefetch of two batches so that the next one is on its way."""
        if size < 1:
            raise ValueError("size must be at least 1")
        spec = self.topology.queue(queue)
        await self.start()
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=2 * size)
        amqp_queue = await self._consume_queue(channel, spec)
        subscription = _Subscription(spec, _alone(handler), channel, amqp_queue)
        buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

        async def arrived(message: AbstractIncomingMessage) -> None:
            buffer.put_nowait(message)

        subscription.batcher = asyncio.create_task(
            self._batches(subscription, buffer, handler, size, wait_s), name=f"bus:{spec.name}"
        )
        subscription.consumer_tag = await amqp_queue.consume(arrived)
        self._subscriptions.append(subscription)
        log.info("bus.subscribed", queue=spec.name, batch=size)

    async def _consume_queue(
        self, channel: AbstractRobustChannel, spec: QueueSpec
    ) -> AbstractRobustQueue:
        """`spec`'s queue on `channel`, declared again after a reconnect."""
        if spec.name in self._older_queues:  # declaring its arguments would fail
            return await channel.declare_queue(spec.name, passive=True)
        return await channel.declare_queue(
            spec.name, durable=True, arguments=queue_arguments(self.topology, spec)
        )

    async def close(self) -> None:
        """Cancel the consumers, let running handlers finish, disconnect."""
        async with self._start_lock:
            if self._closed:
                return
            self._closed = True
        for subscription in self._subscriptions:
            try:
                async with asyncio.timeout(self._close_timeout):
                    await subscription.queue.cancel(subscription.consumer_tag)
            except _AMQP_FAILURES as exc:
                log.warning("bus.consumer.cancel_failed", queue=subscription.spec.name, error=exc)
        for _ in range(_HANDOFF_STEPS):
            await asyncio.sleep(0)
        try:
            async with asyncio.timeout(self._drain_timeout):
                await self._in_flight.idle.wait()
        except TimeoutError:
            log.warning("bus.close.handlers_abandoned", running=self._in_flight.count)
        for subscription in self._subscriptions:
            if subscription.batcher is not None:  # what it still holds, the broker returns
                subscription.batcher.cancel()
                with suppress(asyncio.CancelledError):
                    await subscription.batcher
        if self._connection is not None:
            await self._connection.close()
        self._subscriptions.clear()
        self._exchanges.clear()
        self._publish_channel = None
        self._connection = None

    async def dead_letters(self, queue: str) -> list[Envelope]:
        """The envelopes in `<queue>.dead`, left there."""
        envelopes: list[Envelope] = []

        async def look(seen: list[DeadLetter]) -> None:
            envelopes.extend(letter.envelope for letter in seen)
            raise _LookOnlyError

        with suppress(_LookOnlyError):
            await self.take_dead_letters(queue, look)
        return envelopes

    async def take_dead_letters(self, queue: str, keep: Keeper) -> int:
        """Get every message of `<queue>.dead` unacknowledged, hand them to `keep`,
        then ack them; if `keep` raises (or we die), they are requeued."""
        name = dead_letter_queue(self.topology.queue(queue).name)
        async with self._admin_channel() as channel:
            dead = await channel.declare_queue(name, passive=True)
            got: list[AbstractIncomingMessage] = []
            while (message := await dead.get(no_ack=False, fail=False)) is not None:
                got.append(message)  # all first: a requeued one would come straight back
            messages: list[AbstractIncomingMessage] = []
            letters: list[DeadLetter] = []
            for message in got:
                try:
                    envelope = Envelope.model_validate_json(message.body)
                    letters.append(DeadLetter(envelope, *self._first_route(message)))
                    messages.append(message)
                except ValidationError:  # left for a person to look at
                    log.exception("bus.dead_letter.malformed", message_id=message.message_id)
                    await message.nack(requeue=True)
            if not messages:
                return 0
            try:
                await keep(letters)
            except BaseException:
                for message in messages:
                    await message.nack(requeue=True)
                raise
            for message in messages:
                await message.ack()
        return len(messages)

    def _first_route(self, message: AbstractIncomingMessage) -> tuple[str | None, str | None]:
        """Where a dead letter was first published: from our headers if it was
        copied back to its queue after a failure (the copy went through the
        default exchange), else from the broker's `x-death` header (its first
        death; the newest is first in the list)."""
        headers = message.headers
        exchange: object = headers.get(FIRST_EXCHANGE_HEADER)
        key: object = headers.get(FIRST_ROUTING_KEY_HEADER)
        if exchange is None or key is None:
            deaths = headers.get("x-death")
            if not isinstance(deaths, list) or not deaths or not isinstance(deaths[-1], dict):
                return None, message.routing_key
            first = deaths[-1]
            exchange, keys = first.get("exchange"), first.get("routing-keys")
            key = keys[0] if isinstance(keys, list) and keys else message.routing_key
        exchange, key = _text(exchange), _text(key)
        base = exchange.removeprefix(self.topology.prefix) if exchange else None
        return base, key

    async def depth(self, queue: str) -> int:
        """How many messages are ready in `queue` (unacked ones not counted)."""
        name = self.topology.queue(queue).name
        async with self._admin_channel() as channel:
            declared = await channel.declare_queue(name, passive=True)
        return declared.declaration_result.message_count or 0

    async def delete_topology(self) -> None:
        """Delete this topology's queues and exchanges from the broker (tests use
        one prefix each). Works before `start` and after `close`."""
        async with self._admin_channel() as channel:
            for spec in self.topology.queues:
                for name in (spec.name, dead_letter_queue(spec.name)):
                    await channel.queue_delete(name)
            for name in (*self.topology.exchanges, self.topology.dead_letter_exchange):
                await channel.exchange_delete(name)

    @asynccontextmanager
    async def _admin_channel(self) -> AsyncIterator[AbstractChannel]:
        """A short-lived channel: on our connection if open, else on a new one."""
        if self._connection is not None and not self._connection.is_closed:
            async with self._connection.channel() as channel:
                yield channel
            return
        async with (
            await self._on_a_node(
                lambda nodes: aio_pika.connect(
                    nodes[0], client_properties={"connection_name": f"{self.connection_name}-admin"}
                )
            ) as connection,
            connection.channel() as channel,
        ):
            yield channel

    async def _started(self) -> None:
        if self._connection is not None:
            return
        try:
            await self.start()
        except _AMQP_FAILURES as exc:
            raise NotConfirmedError("cannot reach the broker") from exc

    async def _publish(self, item: Outgoing) -> None:
        envelope = item.envelope
        try:
            exchange = self._exchanges[self.topology.exchange(item.exchange)]
        except ValueError:
            self._unroutable(item)
        message = aio_pika.Message(
            envelope.model_dump_json().encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=envelope.message_id,
            type=envelope.type,
            headers=dict(envelope.headers()),
        )
        routing_key = self.topology.routing_key(item.exchange, item.routing_key, envelope.birth_id)
        if not await self._confirmed(exchange, message, routing_key):
            self._unroutable(item)

    async def _confirmed(
        self, exchange: AbstractExchange, message: aio_pika.Message, routing_key: str
    ) -> bool:
        """Publish mandatorily and wait for the confirm: True once a queue took
        it, False if none did (returned); `NotConfirmedError` otherwise."""
        try:
            async with asyncio.timeout(self._publish_timeout):
                confirm = await exchange.publish(message, routing_key, mandatory=True)
        except aiormq.exceptions.DeliveryError as exc:
            # Basic.Nack: e.g. a queue at its length limit with reject-publish.
            log.warning("bus.publish.refused", message_id=message.message_id, error=exc)
            raise NotConfirmedError(f"the broker refused message {message.message_id}") from exc
        except _AMQP_FAILURES as exc:
            log.warning("bus.publish.unconfirmed", message_id=message.message_id, error=exc)
            raise NotConfirmedError(f"no confirm for message {message.message_id}") from exc
        # Otherwise the returned message: mandatory and no queue bound for the key.
        return isinstance(confirm, aiormq.spec.Basic.Ack)

    def _unroutable(self, item: Outgoing) -> NoReturn:
        log.warning(
            "bus.publish.unroutable",
            exchange=item.exchange,
            routing_key=item.routing_key,
            message_id=item.envelope.message_id,
        )
        raise Unroutable(f"no queue bound to {item.exchange!r} for {item.routing_key!r}")

    async def _on_message(
        self, subscription: _Subscription, message: AbstractIncomingMessage
    ) -> None:
        self._in_flight.enter()
        try:
            await self._handle(subscription, message)
        finally:
            self._in_flight.leave()

    async def _batches(
        self,
        subscription: _Subscription,
        buffer: asyncio.Queue[AbstractIncomingMessage],
        handler: BatchHandler,
        size: int,
        wait_s: float,
    ) -> None:
        while True:
            batch = [await buffer.get()]
            self._in_flight.enter()
            try:
                if buffer.qsize() < size - 1:
                    await asyncio.sleep(wait_s)  # let a few more arrive
                while len(batch) < size and not buffer.empty():
                    batch.append(buffer.get_nowait())
                await self._handle_batch(subscription, batch, handler)
            finally:
                self._in_flight.leave()

    async def _handle_batch(
        self,
        subscription: _Subscription,
        batch: list[AbstractIncomingMessage],
        handler: BatchHandler,
    ) -> None:
        if len(batch) > 1:
            try:
                envelopes = [Envelope.model_validate_json(message.body) for message in batch]
                with structlog.contextvars.bound_contextvars(
                    queue=subscription.spec.name, batch=len(batch)
                ):
                    await handler(envelopes)
            except Exception:  # a malformed message, or a refused batch: one by one
                log.warning("bus.batch.failed", queue=subscription.spec.name, exc_info=True)
            else:
                for message in batch:
                    await self._settle(message.ack(), "ack")
                return
        # One by one: only a failing message counts a failure, or dies.
        for message in batch:
            await self._handle(subscription, message)

    async def _handle(self, subscription: _Subscription, message: AbstractIncomingMessage) -> None:
        headers = message.headers
        failures = _count(headers.get(FAILURES_HEADER))
        with structlog.contextvars.bound_contextvars(
            **message_context(message.message_id, headers),
            queue=subscription.spec.name,
            # The broker's count: this delivery, whatever ended the earlier ones.
            delivery=_count(headers.get("x-delivery-count")) + 1,
            failures=failures,  # how many times a handler raised on it before
        ):
            try:
                envelope = Envelope.model_validate_json(message.body)
            except ValidationError:
                # Never going to parse: straight to the dead-letter queue.
                log.exception("bus.message.malformed")
                await self._settle(message.reject(requeue=False), "reject")
                return
            try:
                await subscription.handler(envelope)
            except Exception:
                log.exception("bus.handler.failed")
                await self._failed(subscription.spec, message, failures + 1)
                return
            await self._settle(message.ack(), "ack")

    async def _failed(
        self, spec: QueueSpec, message: AbstractIncomingMessage, failures: int
    ) -> None:
        """The handler raised for the `failures`-th time on `message`: dead-letter
        it at the limit, else put a copy that says so back in its queue."""
        if failures >= self.topology.delivery_limit:
            log.error("bus.message.dead_lettered", limit=self.topology.delivery_limit)
            await self._settle(message.reject(requeue=False), "reject")
            return
        headers = {
            FIRST_EXCHANGE_HEADER: message.exchange,
            FIRST_ROUTING_KEY_HEADER: message.routing_key,
            **message.headers,
            FAILURES_HEADER: failures,
        }
        headers.pop("x-delivery-count", None)  # the broker's, of the original
        copy = aio_pika.Message(
            message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            headers=headers,
        )
        try:
            channel = self._publish_channel
            if channel is None or not await self._confirmed(
                channel.default_exchange, copy, spec.name
            ):
                raise NotConfirmedError(f"queue {spec.name} did not take the copy")
        except NotConfirmedError as exc:
            # The broker's count of deliveries takes over for this one.
            log.warning("bus.message.copy_failed", error=str(exc))
            await self._settle(message.nack(requeue=True), "nack")
            return
        await self._settle(message.ack(), "ack")  # if this fails, both come again

    @staticmethod
    async def _settle(action: Awaitable[None], name: str) -> None:
        # The channel may have died under a long handler: the broker has
        # already put the message back, and it comes again on the new channel.
        try:
            await action
        except _AMQP_FAILURES as exc:
            log.warning("bus.settle.failed", action=name, error=exc)


def _count(value: object) -> int:
    """A count from a header: 0 when absent or not a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: object) -> str | None:
    """A header's value as text (AMQP strings may come as bytes)."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return None if value is None else str(value)


def _alone(handler: BatchHandler) -> Handler:
    async def handle(envelope: Envelope) -> None:
        await handler([envelope])

    return handle


__all__ = [
    "DEAD_LETTER_QUEUE_ARGUMENTS",
    "FAILURES_HEADER",
    "FIRST_EXCHANGE_HEADER",
    "FIRST_ROUTING_KEY_HEADER",
    "RabbitMQTransport",
    "declare_topology",
    "queue_arguments",
]
