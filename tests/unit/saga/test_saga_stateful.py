"""The saga core under the delivery guarantees of the real system (issue 13, item 3).

A Hypothesis state machine plays one birth through a model of everything around
the pure core: the outbox and its relay, a broker that redelivers, duplicates
and reorders, adapters calling departments that keep one record per
idempotency key, the orchestrator's inbox, and the timers on a fake clock. It
crashes at each named point:

- an adapter before the department call (the command is redelivered);
- an adapter after the call, before its reply is published and the command acked;
- the orchestrator after applying a reply, before the commit (the change is lost);
- the orchestrator after the commit, before the ack (the reply comes again);
- the relay between the broker's confirm and marking the outbox row (published twice).

Invariants: no step is lost (drained, every birth ends where someone sees it:
completed, cancelled or waiting for an operator); at most one record per step
at a department; terminal states are absorbing; the history has no gaps;
`cancelled` only once nothing is left at any department.
"""

import copy
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from contracts.catalogue import builtin_registry
from contracts.problems import parse_birth_event
from contracts.registry import RuleContext, StepName
from contracts.replies import StepReply
from contracts.steps import BirthStatus, StepState
from gateway.saga.machine import Dispatch, Policy, Saga, Transition
from gateway.saga.plan import Plan
from tests.cases.birth_cases import valid_event

START = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
POLICY = Policy(
    dispatch_lease=timedelta(seconds=300),
    retry_ladder=tuple(timedelta(seconds=s) for s in (10, 60, 300)),
    step_deadline=timedelta(hours=72),
)
OUTPUTS: dict[str, dict[str, str | None]] = {
    "birth_certificate": {"certificate_number": "A123456789"},
    "vaccination_record": {"record_number": "CDC1"},
    "household_registration": {"citizen_id": "33010620261128001X"},
    "medical_insurance": {"insurance_number": "N1"},
    "social_security_card": {"card_number": "K1"},
}
# Once there, a step never leaves these; a cancelled birth stays cancelled.
ABSORBING = frozenset({StepState.COMPENSATED, StepState.NOT_APPLICABLE, StepState.SKIPPED})
STILL_MOVING = frozenset({BirthStatus.IN_PROGRESS}) | {
    s for s in BirthStatus if s.value == "cancelling"
}

AdapterCrash = Literal["before_call", "after_call"] | None
OrchestratorCrash = Literal["before_commit", "after_commit"] | None


@dataclass(frozen=True)
class Command:
    """A command as the relay publishes it."""

    message_id: str
    step: StepName
    action: str
    attempt: int
    key: str
    reference: str | None


@dataclass(frozen=True)
class Reply:
    """An adapter's reply on its way to the orchestrator."""

    message_id: str
    step: StepName
    attempt: int
    reply: StepReply


@dataclass
class Department:
    """One department for every step: one record per idempotency key."""

    records: dict[str, tuple[StepName, str]] = field(default_factory=dict)  # key → step, ref
    revoked: set[str] = field(default_factory=set)  # references

    def call(self, command: Command, down: bool) -> StepReply:
        operation = "revoke" if command.action == "revoke" else "submit"
        if down:
            return StepReply(
                outcome="transient", reason="503", command_id=command.message_id,
                operation=operation,
            )  # fmt: skip
        if command.action == "revoke":
            assert command.reference is not None
            self.revoked.add(command.reference)
            return StepReply(outcome="completed", command_id=command.message_id, operation="revoke")
        step, reference = self.records.setdefault(command.key, (command.step, f"ref-{command.key}"))
        return StepReply(
            outcome="completed", output=OUTPUTS[step], reference=reference,
            command_id=command.message_id,
        )  # fmt: skip

    def live(self) -> list[tuple[StepName, str]]:
        return [(s, r) for s, r in self.records.values() if r not in self.revoked]


def loaded(saga: Saga) -> Saga:
    """The saga as the store would load it: a copy, with nothing pending."""
    keep = {id(saga.plan): saga.plan, id(saga.policy): saga.policy}
    keep |= {id(e): e for e in saga.versions.values()}
    fresh = copy.deepcopy(saga, keep)
    fresh.transitions, fresh.dispatches = [], []
    return fresh


class BirthUnderFaults(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count()
        self.now = START
        self.department = Department()
        self.outbox: list[Command] = []
        self.commands: list[Command] = []  # on the broker, for the adapters
        self.replies: list[Reply] = []  # on the broker, for the orchestrator
        self.inbox: set[str] = set()
        self.history: list[Transition] = []
        self.reached: dict[StepName, set[StepState]] = {}
        self.was_cancelled = False

    @initialize()
    def accept(self) -> None:
        event = parse_birth_event(valid_event(now=START), now=START)
        plan = Plan(builtin_registry(), RuleContext(None))
        saga = Saga.new("b1", event, plan, POLICY, now=START)
        saga.advance(START)
        self.saga = loaded(saga)
        self.commit(saga)

    # The store ---------------------------------------------------------------

    def commit(self, working: Saga) -> None:
        """What one transaction writes: the saga, its history and its outbox."""
        self.history.extend(working.transitions)
        self.outbox.extend(self.published(working, d) for d in working.dispatches)
        self.saga = loaded(working)

    def published(self, saga: Saga, dispatch: Dispatch) -> Command:
        command = saga.command(dispatch)
        reference = getattr(command, "reference", None)
        return Command(
            f"cmd-{next(self.ids)}", dispatch.step, dispatch.action, dispatch.attempt,
            command.idempotency_key, reference or None,
        )  # fmt: skip

    # The moving parts ----------------------------------------------------------

    @precondition(lambda self: self.outbox)
    @rule(data=st.data(), crash_before_marking=st.booleans())
    def relay(self, data: st.DataObject, crash_before_marking: bool) -> None:
        command = data.draw(st.sampled_from(self.outbox))
        self.commands.append(command)
        if not crash_before_marking:  # else the row is published again
            self.outbox.remove(command)

    @precondition(lambda self: self.commands)
    @rule(
        data=st.data(),
        crash=st.sampled_from(["before_call", "after_call", None]),
        down=st.booleans(),
    )
    def adapter(self, data: st.DataObject, crash: AdapterCrash, down: bool) -> None:
        command = data.draw(st.sampled_from(self.commands))
        if crash == "before_call":
            return  # redelivered
        answer = self.department.call(command, down)
        if crash == "after_call":
            return  # redelivered: the department is called again with the same key
        self.replies.append(Reply(f"reply-{next(self.ids)}", command.step, command.attempt, answer))
        self.commands.remove(command)

    @precondition(lambda self: self.replies)
    @rule(data=st.data(), crash=st.sampled_from(["before_commit", "after_commit", None]))
    def orchestrator(self, data: st.DataObject, crash: OrchestratorCrash) -> None:
        message = data.draw(st.sampled_from(self.replies))
        if message.message_id in self.inbox:
            self.replies.remove(message)  # a duplicate: acked, nothing else
            return
        working = loaded(self.saga)
        working.on_reply(message.step, message.reply, message.attempt, self.now)
        if crash == "before_commit":
            return
        self.commit(working)
        self.inbox.add(message.message_id)
        if crash is None:
            self.replies.remove(message)

    @precondition(lambda self: self.replies)
    @rule(data=st.data())
    def broker_redelivers(self, data: st.DataObject) -> None:
        self.replies.append(data.draw(st.sampled_from(self.replies)))

    @rule(seconds=st.integers(min_value=1, max_value=600))
    def timers(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        working = loaded(self.saga)
        working.on_due(self.now)
        self.commit(working)

    @precondition(lambda self: not self.was_cancelled)
    @rule()
    def hospital_cancels(self) -> None:
        working = loaded(self.saga)
        working.cancel("reported in error", self.now)
        self.was_cancelled = True
        self.commit(working)

    # Invariants ----------------------------------------------------------------

    @invariant()
    def one_record_per_step_at_the_department(self) -> None:
        steps = [step for step, _ in self.department.records.values()]
        assert len(steps) == len(set(steps)), self.department.records

    @invariant()
    def terminal_states_are_absorbing(self) -> None:
        for step, view in self.saga.steps.items():
            reached = self.reached.setdefault(step, set())
            left = reached & ABSORBING - {view.state}
            assert not left, f"{step} left {left} for {view.state}"
            reached.add(view.state)
        if any(t.to_state == BirthStatus.CANCELLED.value for t in self.history if t.step is None):
            assert self.saga.status == BirthStatus.CANCELLED

    @invariant()
    def the_history_has_no_gaps(self) -> None:
        last: dict[StepName | None, str | None] = {}
        for line in self.history:
            if line.step in last or line.from_state is not None:
                assert line.from_state == last.get(line.step), (line, last.get(line.step))
            last[line.step] = line.to_state
        for step, view in self.saga.steps.items():
            assert last[step] == view.state.value
        assert last[None] == self.saga.status.value

    @invariant()
    def cancelled_only_when_the_departments_hold_nothing(self) -> None:
        if self.saga.status == BirthStatus.CANCELLED:
            assert self.department.live() == []

    def teardown(self) -> None:
        """No lost step: with every fault gone, the birth ends where someone sees it."""
        if not hasattr(self, "saga"):
            return
        for _ in range(200):
            if not (self.outbox or self.commands or self.replies):
                if self.saga.status not in STILL_MOVING:
                    break
                due = [v.next_attempt_at for v in self.saga.steps.values() if v.next_attempt_at]
                assert due, f"stuck: {self.saga.status} and nothing due"
                self.timers(max(1, int((min(due) - self.now).total_seconds()) + 1))
            while self.outbox:
                self.relay_one(self.outbox[0])
            while self.commands:
                command = self.commands.pop(0)
                answer = self.department.call(command, down=False)
                reply = Reply(f"reply-{next(self.ids)}", command.step, command.attempt, answer)
                self.replies.append(reply)
            while self.replies:
                message = self.replies.pop(0)
                if message.message_id not in self.inbox:
                    working = loaded(self.saga)
                    working.on_reply(message.step, message.reply, message.attempt, self.now)
                    self.commit(working)
                    self.inbox.add(message.message_id)
        assert self.saga.status not in STILL_MOVING, {
            s: v.state for s, v in self.saga.steps.items()
        }
        if self.saga.status == BirthStatus.COMPLETED:
            assert len(self.department.live()) == len(OUTPUTS)
        self.cancelled_only_when_the_departments_hold_nothing()

    def relay_one(self, command: Command) -> None:
        self.commands.append(command)
        self.outbox.remove(command)


BirthUnderFaults.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
test_a_birth_under_crashes_duplicates_and_reordering = BirthUnderFaults.TestCase
