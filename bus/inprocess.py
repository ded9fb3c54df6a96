"""The in-process bus: RabbitMQ's names and rules, kept in this process's memory.

For `birthlink up` without a broker, and for tests. Exchanges route by AMQP
topic matching on the bindings of `Topology`; each queue is an asyncio queue;
each message is serialised to JSON on publish, so a handler never shares an
object with the publisher. A handler that raises has its message redelivered
until it has raised `topology.delivery_limit` times on it, then the message
moves to `<queue>.dead`. A handler cancelled by `close` does not count: as on
RabbitMQ, only failures of the handler do.

Messages die with the process: that is safe because every message starts as an
outbox row and every pending step as a database timer (DESIGN "Time lives in
the database").
"""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

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
from bus.logcontext import message_context
from bus.topology import QueueSpec, Topology
from contracts.envelope import Envelope

log = structlog.get_logger(__name__)


@dataclass
class _Message:
    """One copy of a message in one queue, with the broker's bookkeeping."""

    body: bytes
    headers: dict[str, str]
    message_id: str
    exchange: str
    routing_key: str
    deliveries: int = 0
    failures: int = 0  # of the handler; only these count towards the limit


@dataclass
class _Worker:
    """One of a subscription's `prefetch` handler slots."""

    task: asyncio.Task[None] | None = None
    busy: bool = False


class InProcessTransport:
    """A `Transport` in memory, with the same names and rules as RabbitMQ."""

    survives_restart = False

    def __init__(
        self, topology: Topology | None = None, *, drain_timeout: float | None = 60.0
    ) -> None:
        """`drain_timeout`: how long `close` waits for running handlers (None:
        forever); a handler still running then is cancelled, its message requeued."""
        self.topology = topology or Topology()
        self._drain_timeout = drain_timeout
        self._queues: dict[str, asyncio.Queue[_Message]] = {
            spec.name: asyncio.Queue() for spec in self.topology.queues
        }
        self._dead: dict[str, list[_Message]] = {spec.name: [] for spec in self.topology.queues}
        self._workers: list[_Worker] = []
        self._closing = False

    async def start(self) -> None:
        """Nothing to connect: the topology exists from construction."""
        self._check_open()

    async def ready(self) -> bool:
        """Always, until closed: there is no broker to lose."""
        return not self._closing

    async def publish(self, envelope: Envelope, *, exchange: str, routing_key: str) -> None:
        """Copy the message into every queue bound for `routing_key`."""
        self._check_open()
        routing_key = self.topology.routing_key(exchange, routing_key, envelope.birth_id)
        targets = self._route(envelope, exchange, routing_key)
        body = envelope.model_dump_json().encode()
        headers = envelope.headers()
        for spec in targets:
            self._queues[spec.name].put_nowait(
                _Message(body, headers, envelope.message_id, exchange, routing_key)
            )

    async def publish_many(self, items: Iterable[Outgoing]) -> list[BusError | None]:
        """`publish` each item; one outcome per item, in order."""
        outcomes: list[BusError | None] = []
        for item in items:
            try:
                await self.publish(
                    item.envelope, exchange=item.exchange, routing_key=item.routing_key
                )
            except BusError as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    async def subscribe(self, queue: str, handler: Handler, *, prefetch: int = 50) -> None:
        """Run up to `prefetch` handlers at once on `queue` until `close`."""
        self._check_open()
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        spec = self.topology.queue(queue)
        for _ in range(prefetch):
            worker = _Worker()
            worker.task = asyncio.create_task(
                self._work(spec, handler, worker), name=f"bus:{spec.name}"
            )
            self._workers.append(worker)

    async def subscribe_batch(
        self, queue: str, handler: BatchHandler, *, size: int = 50, wait_s: float = 0.005
    ) -> None:
        """Hand `queue` to `handler` in batches of up to `size` (see `Transport`)."""
        self._check_open()
        if size < 1:
            raise ValueError("size must be at least 1")
        spec = self.topology.queue(queue)
        worker = _Worker()
        worker.task = asyncio.create_task(
            self._work_batches(spec, handler, worker, size, wait_s), name=f"bus:{spec.name}"
        )
        self._workers.append(worker)

    async def close(self) -> None:
        """Stop taking messages, let running handlers finish."""
        self._closing = True
        tasks = [worker.task for worker in self._workers if worker.task is not None]
        for worker in self._workers:
            if not worker.busy and worker.task is not None:
                # Idle in `queue.get()`: cancelling there leaves the message queued.
                worker.task.cancel()
        self._workers.clear()
        if not tasks:
            return
        _, running = await asyncio.wait(tasks, timeout=self._drain_timeout)
        if running:
            log.warning("bus.close.handlers_abandoned", running=len(running))
            for task in running:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def dead_letters(self, queue: str) -> list[Envelope]:
        """The envelopes dead-lettered from `queue`."""
        dead = self._dead[self.topology.queue(queue).name]
        return [Envelope.model_validate_json(message.body) for message in dead]

    async def take_dead_letters(self, queue: str, keep: Keeper) -> int:
        """Hand the dead letters of `queue` to `keep`; drop them once it returns."""
        dead = self._dead[self.topology.queue(queue).name]
        taken = len(dead)
        if taken:
            await keep(
                [
                    DeadLetter(Envelope.model_validate_json(m.body), m.exchange, m.routing_key)
                    for m in dead[:taken]
                ]
            )
            del dead[:taken]  # only appended to meanwhile: these are still the first
        return taken

    async def depth(self, queue: str) -> int:
        """How many messages wait in `queue`, not counting those being handled."""
        return self._queues[self.topology.queue(queue).name].qsize()

    def _check_open(self) -> None:
        if self._closing:
            raise NotConfirmedError("the in-process transport is closed")

    def _route(self, envelope: Envelope, exchange: str, routing_key: str) -> tuple[QueueSpec, ...]:
        try:
            targets = self.topology.routes(self.topology.exchange(exchange), routing_key)
        except ValueError:
            targets = ()
        if not targets:
            log.warning(
                "bus.publish.unroutable",
                exchange=exchange,
                routing_key=routing_key,
                message_id=envelope.message_id,
            )
            raise Unroutable(f"no queue bound to {exchange!r} for {routing_key!r}")
        return targets

    async def _work(self, spec: QueueSpec, handler: Handler, worker: _Worker) -> None:
        queue = self._queues[spec.name]
        while not self._closing:
            message = await queue.get()
            worker.busy = True
            try:
                await self._deliver(spec, queue, message, handler)
            finally:
                worker.busy = False

    async def _work_batches(
        self, spec: QueueSpec, handler: BatchHandler, worker: _Worker, size: int, wait_s: float
    ) -> None:
        queue = self._queues[spec.name]
        while not self._closing:
            batch = [await queue.get()]
            worker.busy = True
            try:
                if queue.qsize() < size - 1:
                    await asyncio.sleep(wait_s)  # let a few more arrive
                while len(batch) < size and not queue.empty():
                    batch.append(queue.get_nowait())
                await self._deliver_batch(spec, queue, batch, handler)
            except BaseException:
                for message in batch:  # cancelled: the unsettled go back, as on a lost channel
                    queue.put_nowait(message)
                raise
            finally:
                worker.busy = False

    async def _deliver_batch(
        self,
        spec: QueueSpec,
        queue: asyncio.Queue[_Message],
        batch: list[_Message],
        handler: BatchHandler,
    ) -> None:
        """Settle every message of `batch`, taking each out of it once settled."""
        if len(batch) > 1:
            envelopes = [Envelope.model_validate_json(message.body) for message in batch]
            with structlog.contextvars.bound_contextvars(queue=spec.name, batch=len(batch)):
                try:
                    await handler(envelopes)
                except Exception:
                    log.warning("bus.batch.failed", exc_info=True)
                else:
                    batch.clear()
                    return
        # One by one: only a failing message counts a failure, or dies.
        while batch:
            await self._deliver(spec, queue, batch.pop(0), _alone(handler))

    async def _deliver(
        self,
        spec: QueueSpec,
        queue: asyncio.Queue[_Message],
        message: _Message,
        handler: Handler,
    ) -> None:
        message.deliveries += 1
        context = message_context(message.message_id, message.headers)
        with structlog.contextvars.bound_contextvars(
            **context, queue=spec.name, delivery=message.deliveries, failures=message.failures
        ):
            try:
                await handler(Envelope.model_validate_json(message.body))
            except Exception:
                log.exception("bus.handler.failed")
                message.failures += 1
                if message.failures >= self.topology.delivery_limit:
                    log.error("bus.message.dead_lettered", limit=self.topology.delivery_limit)
                    self._dead[spec.name].append(message)
                else:
                    queue.put_nowait(message)
            except BaseException:
                # Cancelled mid-handler (event loop shutting down): like a lost
                # channel on the broker, the message goes back, not counted as
                # a failure.
                queue.put_nowait(message)
                raise


def _alone(handler: BatchHandler) -> Handler:
    async def handle(envelope: Envelope) -> None:
        await handler([envelope])

    return handle
