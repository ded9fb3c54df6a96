"""The finished messages a change of a saga sends: a command for each dispatch
(with the step's stable idempotency key) and at most one notice to the parents.
The unit of work puts them in the outbox with the change."""

from datetime import datetime

from contracts.commands import command_type, routing_key
from contracts.envelope import Envelope
from gateway.saga.machine import Dispatch, Message, Saga
from gateway.saga.notices import notice_message


def outgoing(saga: Saga, history_seq: int, now: datetime) -> list[Message]:
    """Every message of the change `saga` holds; `history_seq`: the birth's
    history sequence before the change."""
    messages = [command_message(saga, dispatch, now) for dispatch in saga.dispatches]
    notice = notice_message(saga, history_seq, now)
    return [*messages, notice] if notice else messages


def command_message(saga: Saga, dispatch: Dispatch, now: datetime) -> Message:
    """The command for one dispatch, routed to the step's department."""
    spec = saga.plan.spec(dispatch.step)
    command = saga.command(dispatch)
    envelope = Envelope(
        type=command_type(command, spec.command),
        birth_id=saga.birth_id,
        step=dispatch.step,
        attempt=dispatch.attempt,
        occurred_at=now,
        data=command.model_dump(mode="json"),
    )
    return Message("commands", routing_key(spec.department, command.action), envelope)
