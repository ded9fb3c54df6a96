"""The adapter worker: consume a department's command queue, run its adapter,
publish the reply.

For each command envelope: parse it, bind `birth_id`, `step`, `attempt` and
`message_id` to the log context, call the `DepartmentAdapter`, and publish a
`StepReply` envelope to `birthlink.results` with routing key
`<department>.<outcome>`, stamped with the operation it answers (`submit` for
submissions and polls, `amend`, `revoke`). The reply's `message_id` is
`<command message_id>.reply`:
a redelivered command yields the same reply id, which the orchestrator's inbox
drops. A department's refusal (`PermanentError`) is a `rejected` reply; an
unreachable or unreadable department (`TransientError`,
`DepartmentProtocolError`) a `transient` one. Anything else is a bug: it is
logged and raised, so the bus redelivers the command and then dead-letters it.

A reply the broker refuses (a nack: while a node of the cluster is down, its
queues' leaders move) is not the command's fault: its publish is tried again
with a growing pause for `reply_patience_s`, the command held meanwhile, instead
of spending the command's delivery attempts in a second.
"""

from typing import Any, Protocol

import structlog
from structlog.contextvars import bound_contextvars
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from adapters._runtime.errors import (
    DepartmentProtocolError,
    PermanentError,
    TransientError,
    UnsupportedCommandError,
)
from adapters._runtime.replies import rejected, transient
from bus.base import NotConfirmedError, Transport
from bus.topology import RESULTS_EXCHANGE, department_queue
from contracts.catalogue import builtin_registry
from contracts.commands import (
    Action,
    AmendStep,
    Command,
    PollDepartment,
    RevokeStep,
    SubmitStep,
    parse_command,
)
from contracts.envelope import Envelope
from contracts.registry import Registry
from contracts.replies import REPLY_TYPES, StepReply

log = structlog.get_logger()


class Handler(Protocol):
    async def __call__(self, command: Any, /, *, step: str) -> StepReply: ...


class DepartmentAdapter(Protocol):
    """One department's operations: command in, reply out.

    A refusal may be returned as a `rejected` reply or raised as `PermanentError`;
    `TransientError` and `DepartmentProtocolError` are raised once the in-call
    retries are spent. The worker stamps the reply's `command_id`.
    """

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        """Send the step's record to the department."""
        ...

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        """Ask the department how an accepted request stands."""
        ...

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        """Send the department the changes between the record it holds and the
        corrected one."""
        ...

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        """Undo the step at the department (void, cancel, stop, withdraw)."""
        ...


def reply_message_id(command_message_id: str) -> str:
    """The reply's message id: derived from the command's, so redeliveries agree."""
    return f"{command_message_id}.reply"


class AdapterWorker:
    """Serves one department's queue with its adapter."""

    def __init__(
        self,
        department: str,
        adapter: DepartmentAdapter,
        transport: Transport,
        *,
        prefetch: int = 32,
        registry: Registry | None = None,
        reply_patience_s: float = 120.0,
        first_pause_s: float = 0.2,
    ) -> None:
        self.department = department
        self._reply_patience_s, self._first_pause_s = reply_patience_s, first_pause_s
        # The steps this department does, by the type of their submit command.
        self.steps = {
            spec.name: spec.command
            for spec in (registry or builtin_registry()).of_department(department)
        }
        if not self.steps:
            raise ValueError(f"no step is done by department {department!r}")
        self._adapter = adapter
        # What each action calls (the command's type matches the method's).
        self._handlers: dict[Action, Handler] = {
            "submit": adapter.submit,
            "poll": adapter.poll,
            "amend": adapter.amend,
            "revoke": adapter.revoke,
        }
        self._transport = transport
        self._prefetch = prefetch

    @property
    def queue(self) -> str:
        """The department's command queue (`birthlink.<department>`; the transport
        adds its topology's prefix)."""
        return department_queue(self.department)

    async def start(self) -> None:
        """Subscribe to the department's queue; messages flow until the transport closes."""
        await self._transport.subscribe(self.queue, self.handle, prefetch=self._prefetch)
        log.info("adapter.worker.started", department=self.department, queue=self.queue)

    async def handle(self, envelope: Envelope) -> None:
        """Handle one command envelope (the transport's handler: return acks, raise
        redelivers)."""
        step = envelope.step or self._only_step()
        with bound_contextvars(
            birth_id=envelope.birth_id,
            step=step,
            attempt=envelope.attempt,
            message_id=envelope.message_id,
            department=self.department,
        ):
            try:
                command = parse_command(envelope)
                reply = await self._run(step, envelope.type, command)
                answered = "submit" if command.action == "poll" else command.action
                reply = reply.model_copy(
                    update={"command_id": envelope.message_id, "operation": answered}
                )
                await self._publish(envelope, step, reply)
            except Exception:
                log.exception(f"adapter.{self.department}.failed", type=envelope.type)
                raise

    async def _run(self, step: str | None, command_type: str, command: Command) -> StepReply:
        if step not in self.steps:
            raise UnsupportedCommandError(f"step {step} is not done by {self.department}")
        if command.action == "submit" and command_type != self.steps[step]:
            raise UnsupportedCommandError(f"{self.department} does not handle {command_type!r}")
        handle = self._handlers[command.action]
        try:
            return await handle(command, step=step)
        except PermanentError as exc:
            log.warning(f"adapter.{self.department}.refused", status=exc.status, code=exc.code)
            return rejected(exc.reason)
        except (TransientError, DepartmentProtocolError) as exc:
            retry_after_s = exc.retry_after_s if isinstance(exc, TransientError) else None
            log.warning(
                f"adapter.{self.department}.unavailable",
                error=type(exc).__name__,
                status=exc.status,
                reason=exc.reason,
                retry_after_s=retry_after_s,
            )
            return transient(exc.reason, retry_after_s=retry_after_s)

    def _only_step(self) -> str | None:
        """The step of a command that names none: the department's, if it does one."""
        return next(iter(self.steps)) if len(self.steps) == 1 else None

    async def _publish(self, command: Envelope, step: str | None, reply: StepReply) -> None:
        envelope = Envelope(
            message_id=reply_message_id(command.message_id),
            type=REPLY_TYPES[reply.outcome],
            birth_id=command.birth_id,
            step=step,
            attempt=command.attempt,
            traceparent=command.traceparent,
            data=reply.model_dump(mode="json"),
        )
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(NotConfirmedError),
            wait=wait_exponential(multiplier=self._first_pause_s, max=5),
            stop=stop_after_delay(self._reply_patience_s),
            before_sleep=_refused,
            reraise=True,
        ):
            with attempt:
                await self._transport.publish(
                    envelope,
                    exchange=RESULTS_EXCHANGE,
                    routing_key=f"{self.department}.{reply.outcome}",
                )
        log.debug(
            f"adapter.{self.department}.replied",
            outcome=reply.outcome,
            reference=reply.reference,
        )


def _refused(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("adapter.reply.refused.retrying", error=str(error), attempt=state.attempt_number)
