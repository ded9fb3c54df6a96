"""Commands the orchestrator sends to a department's adapter (imperative names).

Routing key on `birthlink.commands`: `<department>.<action>`. One vocabulary
for what is asked of a department (`Action`) and for what the saga does to a
step it already sent (`Operation`):

- `submit` do the step; `poll` ask how an accepted request stands;
- `amend` change what the department holds after a correction;
- `revoke` undo it when a birth is cancelled (void, cancel, stop); a
  `withdraw` operation (undo a request not answered yet) is sent as `revoke`.

Each command carries its own stable idempotency key and its `action`, which
discriminates the `Command` union (`parse_command`).
"""

from typing import Annotated, Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.envelope import Envelope

Action = Literal["submit", "poll", "amend", "revoke"]
Operation = Literal["amend", "revoke", "withdraw"]
ACTION_OF: dict[Operation, Action] = {"amend": "amend", "revoke": "revoke", "withdraw": "revoke"}

POLL_TYPE = "PollDepartment"
AMEND_TYPE = "AmendStep"
REVOKE_TYPE = "RevokeStep"


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True)

    idempotency_key: str


class SubmitStep(_Command):
    """Do the step at the department. `record` is the step's record (contracts.records)
    as JSON; `idempotency_key` is `<birth id>:<step>`, the same on every attempt.
    The envelope's type names the step's command (`IssueBirthCertificate`, …)."""

    action: Literal["submit"] = "submit"
    record: dict[str, Any]


class PollDepartment(_Command):
    """Ask the department how an accepted request stands (no callback came in time)."""

    action: Literal["poll"] = "poll"
    reference: str


class AmendStep(_Command):
    """Change what the department holds: `previous` is the record it has, `record`
    the corrected one (both contracts.records JSON); the adapter sends the
    difference in the department's format. `reference` is the department's id of
    the request; the key is `<birth id>:<step>:amend:<event version>`."""

    action: Literal["amend"] = "amend"
    reference: str
    previous: dict[str, Any]
    record: dict[str, Any]


class RevokeStep(_Command):
    """Undo the step at the department (the birth was reported in error): void the
    certificate, cancel the vaccination record or card application, stop the
    insurance, withdraw the household registration. The key is
    `<birth id>:<step>:revoke`."""

    action: Literal["revoke"] = "revoke"
    reference: str
    reason: str


Command = Annotated[
    SubmitStep | PollDepartment | AmendStep | RevokeStep, Field(discriminator="action")
]
_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)
# Commands queued before `action` was in the data are known by their type.
_ACTION_OF_TYPE: dict[str, Action] = {POLL_TYPE: "poll", AMEND_TYPE: "amend", REVOKE_TYPE: "revoke"}


def command_type(command: Command, submit_type: str) -> str:
    """The envelope type of `command` (`submit_type`: the step's own command)."""
    types: dict[Action, str] = {"submit": submit_type, "poll": POLL_TYPE, "amend": AMEND_TYPE}
    return types.get(command.action, REVOKE_TYPE)


def action_of(envelope: Envelope) -> Action:
    """What a command envelope asks: its `action`, or, for a command queued
    before `action` was in the data, what its type says."""
    action = envelope.data.get("action")
    if action in get_args(Action):
        return cast(Action, action)
    return _ACTION_OF_TYPE.get(envelope.type, "submit")


def parse_command(envelope: Envelope) -> Command:
    """The typed command an envelope carries (pydantic's ValidationError if none)."""
    data = envelope.data
    if "action" not in data:
        data = {**data, "action": action_of(envelope)}
    return _COMMAND.validate_python(data)


def routing_key(department: str, action: Action) -> str:
    """`nhc.submit`, `mps.poll`, `nhsa.amend`, `hrss.revoke`, …"""
    return f"{department}.{action}"
