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
"""

from typing import Protocol

import structlog
from structlog.contextvars import bound_contextvars

from adapters._runtime.errors import (
    DepartmentProtocolError,
    PermanentError,
    TransientError,
    UnsupportedCommandError,
)
from adapters._runtime.replies import rejected, transient
from bus.base import Transport
from bus.topology import RESULTS_EXCHANGE, department_queue
from contracts.commands import (
    AMEND_TYPE,
    POLL_TYPE,
    REVOKE_TYPE,
    SUBMIT_TYPES,
    AmendStep,
    PollDepartment,
    RevokeStep,
    SubmitStep,
)
from contracts.envelope import Envelope
from contracts.replies import REPLY_TYPES, Operation, StepReply
from contracts.steps import STEP_OF, Department, Step

log = structlog.get_logger()


class DepartmentAdapter(Protocol):
    """One department's operations: command in, reply out.

    A refusal may be returned as a `rejected` reply or raised as `PermanentError`;
    `TransientError` and `DepartmentProtocolError` are raised once the in-call
    retries are spent. The worker stamps the reply's `command_id`.
    """

    async def submit(self, cmd: SubmitStep, *, step: Step) -> StepReply:
        """Send the step's record to the department."""
        ...

    async def poll(self, cmd: PollDepartment, *, step: Step) -> StepReply:
        """Ask the department how an accepted request stands."""
        ...

    async def amend(self, cmd: AmendStep, *, step: Step) -> StepReply:
        """Send the department the changes between the record it holds and the
        corrected one."""
        ...

    async def revoke(self, cmd: RevokeStep, *, step: Step) -> StepReply:
        """Undo the step at the department (void, cancel, stop, withdraw)."""
        ...


def operation_of(command_type: str) -> Operation:
    """Which operation a command's reply answers."""
    if command_type == AMEND_TYPE:
        return "amend"
    if command_type == REVOKE_TYPE:
        return "revoke"
    return "submit"


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
    ) -> None:
        self.department = Department(department)
        self.step = STEP_OF[self.department]
        self._adapter = adapter
        self._transport = transport
        self._prefetch = prefetch
        self._submit_type = SUBMIT_TYPES[self.step]

    @property
    def queue(self) -> str:
        """The department's command queue (`birthlink.<department>`; the transport
        adds its topology's prefix)."""
        return department_queue(self.department.value)

    async def start(self) -> None:
        """Subscribe to the department's queue; messages flow until the transport closes."""
        await self._transport.subscribe(self.queue, self.handle, prefetch=self._prefetch)
        log.info("adapter.worker.started", department=self.department.value, queue=self.queue)

    async def handle(self, envelope: Envelope) -> None:
        """Handle one command envelope (the transport's handler: return acks, raise
        redelivers)."""
        with bound_contextvars(
            birth_id=envelope.birth_id,
            step=(envelope.step or self.step).value,
            attempt=envelope.attempt,
            message_id=envelope.message_id,
            department=self.department.value,
        ):
            try:
                reply = await self._run(envelope)
                reply = reply.model_copy(
                    update={
                        "command_id": envelope.message_id,
                        "operation": operation_of(envelope.type),
                    }
                )
                await self._publish(envelope, reply)
            except Exception:
                log.exception(f"adapter.{self.department.value}.failed", type=envelope.type)
                raise

    async def _run(self, envelope: Envelope) -> StepReply:
        step = envelope.step or self.step
        if step is not self.step:
            raise UnsupportedCommandError(
                f"step {step.value} is not done by {self.department.value}"
            )
        try:
            if envelope.type == self._submit_type:
                cmd = SubmitStep.model_validate(envelope.data)
                return await self._adapter.submit(cmd, step=step)
            if envelope.type == POLL_TYPE:
                poll = PollDepartment.model_validate(envelope.data)
                return await self._adapter.poll(poll, step=step)
            if envelope.type == AMEND_TYPE:
                amend = AmendStep.model_validate(envelope.data)
                return await self._adapter.amend(amend, step=step)
            if envelope.type == REVOKE_TYPE:
                revoke = RevokeStep.model_validate(envelope.data)
                return await self._adapter.revoke(revoke, step=step)
        except PermanentError as exc:
            log.warning(
                f"adapter.{self.department.value}.refused", status=exc.status, code=exc.code
            )
            return rejected(exc.reason)
        except (TransientError, DepartmentProtocolError) as exc:
            retry_after_s = exc.retry_after_s if isinstance(exc, TransientError) else None
            log.warning(
                f"adapter.{self.department.value}.unavailable",
                error=type(exc).__name__,
                status=exc.status,
                reason=exc.reason,
                retry_after_s=retry_after_s,
            )
            return transient(exc.reason, retry_after_s=retry_after_s)
        raise UnsupportedCommandError(
            f"{self.department.value} adapter does not handle {envelope.type!r}"
        )

    async def _publish(self, command: Envelope, reply: StepReply) -> None:
        envelope = Envelope(
            message_id=reply_message_id(command.message_id),
            type=REPLY_TYPES[reply.outcome],
            birth_id=command.birth_id,
            step=command.step or self.step,
            attempt=command.attempt,
            traceparent=command.traceparent,
            data=reply.model_dump(mode="json"),
        )
        await self._transport.publish(
            envelope,
            exchange=RESULTS_EXCHANGE,
            routing_key=f"{self.department.value}.{reply.outcome}",
        )
        log.info(
            f"adapter.{self.department.value}.replied",
            outcome=reply.outcome,
            reference=reply.reference,
        )
