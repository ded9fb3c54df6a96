"""A birth's saga as a plain object: apply what happened, get the transitions
and the commands to send. The store loads it, the orchestrator feeds it, the
store saves what changed with the outbox in one commit.

Timers are fields, not tasks: `next_attempt_at` says when the sweeper must look
at a step again (a retry, an expired dispatch lease, a poll of the department).

Corrections and cancellation put an *operation* on a step: `amend` (the
department holds an older version of the data), `revoke` (undo a completed
step) or `withdraw` (undo a request the department has not answered yet).
While one is under way the step is `queued`/`retrying` like a submission, with
the same timers, and answers to other commands are ignored. Errors:
`SagaError` ← `CorrectionRefusedError` (the correction cannot be applied).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from contracts.birth import BirthEvent
from contracts.commands import (
    ACTION_OF,
    Action,
    AmendStep,
    Command,
    Operation,
    PollDepartment,
    RevokeStep,
    SubmitStep,
)
from contracts.envelope import Envelope
from contracts.registry import StepName
from contracts.replies import StepReply
from contracts.steps import (
    FINAL_STEP_STATES,
    NEEDS_ACTION_STATES,
    BirthStatus,
    StepState,
)
from gateway.saga.plan import Plan

# Steps that hold nothing at the department (any more): a dependency may be revoked.
RELEASED_STATES = frozenset(
    {StepState.CANCELLED, StepState.COMPENSATED, StepState.SKIPPED, StepState.NOT_APPLICABLE}
)
# The department has, or may have, the step's request: the fields the step fixes
# once sent can no longer change.
SENT_STATES = frozenset(
    {
        StepState.QUEUED,
        StepState.IN_PROGRESS,
        StepState.RETRYING,
        StepState.AWAITING_DEPARTMENT,
        StepState.COMPLETED,
    }
)


ADOPTED = "declared after this birth was accepted"


class SagaError(Exception):
    """Base of the saga core's errors."""


class CorrectionRefusedError(SagaError):
    """The correction cannot be applied; `reason` says why (shown to the hospital)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Policy:
    """Timings of the saga (from settings)."""

    dispatch_lease: timedelta = timedelta(minutes=5)
    poll_after: timedelta = timedelta(seconds=30)
    step_deadline: timedelta = timedelta(hours=72)
    retry_ladder: tuple[timedelta, ...] = tuple(
        timedelta(seconds=s) for s in (10, 60, 300, 1800, 7200, 21600)
    )

    def retry_delay(self, attempt: int, retry_after_s: float | None) -> timedelta:
        """The ladder's rung for this attempt (the last rung repeats), or longer
        when the department asked for it."""
        rung = self.retry_ladder[min(attempt, len(self.retry_ladder)) - 1]
        if retry_after_s is not None:
            return max(rung, timedelta(seconds=retry_after_s))
        return rung


@dataclass
class StepView:
    """A step as the saga sees it."""

    step: StepName
    state: StepState
    attempt: int = 0
    next_attempt_at: datetime | None = None
    deadline_at: datetime | None = None
    department_ref: str | None = None
    output: dict[str, str | None] = field(default_factory=dict)
    last_error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # The event version whose data the department holds (or was sent).
    data_version: int = 1
    # An amendment, revocation or withdrawal under way (or refused, or failed).
    operation: Operation | None = None
    # The event version an amendment carries.
    op_version: int | None = None
    changed: bool = False
    new: bool = False  # not stored yet


@dataclass(frozen=True)
class Transition:
    """One line of history."""

    step: StepName | None
    from_state: str | None
    to_state: str
    detail: str | None = None
    alert: bool = False  # for operators: a department's answer refused or contradicting


@dataclass(frozen=True)
class Message:
    """A finished message for the outbox: the channel (`commands` to the
    departments, `notifications` to the parents), its routing key and envelope."""

    channel: Literal["commands", "notifications"]
    routing_key: str
    envelope: Envelope


@dataclass(frozen=True)
class Dispatch:
    """A command to send: submit the step's record, poll the department, amend or
    revoke what it holds."""

    step: StepName
    action: Action
    attempt: int
    reference: str | None = None


class Saga:
    """One birth: its event, its steps, its status; records what changes."""

    def __init__(
        self,
        birth_id: str,
        event: BirthEvent,
        status: BirthStatus,
        steps: dict[StepName, StepView],
        plan: Plan,
        policy: Policy,
        *,
        event_version: int = 1,
        versions: Mapping[int, BirthEvent] | None = None,
        cancel_reason: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> None:
        self.birth_id = birth_id
        self.event = event
        # The event as the hospital posted it (JSON), which corrections patch.
        self.source = source if source is not None else event.model_dump(mode="json")
        self.event_version = event_version
        # Earlier versions of the event that steps still refer to (amendments).
        self.versions: dict[int, BirthEvent] = {**(versions or {}), event_version: event}
        self.status = status
        self.steps = steps
        self.plan = plan
        self.policy = policy
        self.cancel_reason = cancel_reason
        self.transitions: list[Transition] = []
        self.dispatches: list[Dispatch] = []

    @classmethod
    def new(
        cls,
        birth_id: str,
        event: BirthEvent,
        plan: Plan,
        policy: Policy,
        *,
        now: datetime | None = None,
        source: dict[str, Any] | None = None,
    ) -> "Saga":
        """A birth just accepted (`now`; `source`: as posted): first states, then
        start what can start."""
        saga = cls(birth_id, event, BirthStatus.IN_PROGRESS, {}, plan, policy, source=source)
        saga.transitions.append(Transition(None, None, BirthStatus.IN_PROGRESS.value, "accepted"))
        for step, (state, why) in plan.initial_states(event, now).items():
            saga.steps[step] = StepView(step, state, last_error=why, changed=True, new=True)
            saga.transitions.append(Transition(step, None, state.value, why))
        return saga

    def adopt_new_steps(self) -> None:
        """Steps declared after this birth was accepted do not apply to it."""
        for step in self.plan.steps:
            if step not in self.steps:
                why = ADOPTED
                self.steps[step] = StepView(
                    step, StepState.NOT_APPLICABLE, last_error=why, changed=True, new=True
                )
                self.transitions.append(Transition(step, None, StepState.NOT_APPLICABLE.value, why))

    def idempotency_key(self, step: StepName) -> str:
        return f"{self.birth_id}:{step}"

    def operation_key(self, step: StepName) -> str:
        """The stable key of the step's amendment (one per event version) or revocation."""
        view = self.steps[step]
        if view.operation == "amend":
            return f"{self.birth_id}:{step}:amend:{view.op_version}"
        return f"{self.birth_id}:{step}:revoke"

    def outputs(self) -> dict[StepName, dict[str, str | None]]:
        """What completed steps gave (a step being amended or revoked completed once)."""
        return {
            s: v.output
            for s, v in self.steps.items()
            if v.state == StepState.COMPLETED or v.operation is not None
        }

    def command(self, dispatch: Dispatch) -> Command:
        """The command of a dispatch, with its stable idempotency key."""
        view = self.steps[dispatch.step]
        reference = dispatch.reference or ""
        if dispatch.action == "submit":
            record = self.plan.record(dispatch.step, self.event, self.outputs())
            key = self.idempotency_key(dispatch.step)
            return SubmitStep(idempotency_key=key, record=record.model_dump(mode="json"))
        if dispatch.action == "poll":
            return PollDepartment(
                idempotency_key=self.idempotency_key(dispatch.step), reference=reference
            )
        key = self.operation_key(dispatch.step)
        if dispatch.action == "amend":
            assert view.op_version is not None
            outputs = self.outputs()
            previous = self.plan.record(dispatch.step, self.versions[view.data_version], outputs)
            record = self.plan.record(dispatch.step, self.versions[view.op_version], outputs)
            return AmendStep(
                idempotency_key=key,
                reference=reference,
                previous=previous.model_dump(mode="json"),
                record=record.model_dump(mode="json"),
            )
        reason = self.cancel_reason or "birth reported in error"
        return RevokeStep(idempotency_key=key, reference=reference, reason=reason)

    # What happens -----------------------------------------------------------

    def advance(self, now: datetime) -> None:
        """Dispatch every step whose dependencies are done, amend completed steps
        whose data changed, settle the status; in a cancelled birth, compensate."""
        if self.status.cancel_asked:
            self._compensate(now)
            self._settle_status()
            return
        states = {s: v.state for s, v in self.steps.items()}
        for step in self.plan.ready(states):
            if self.plan.spec(step).asks_parents:
                why = f"{self._decision(step)}: asking the parents to confirm"
                self._move(self.steps[step], StepState.AWAITING_PARENTS, why, next_at=None)
            else:
                self._dispatch(self.steps[step], now)
        for view in self.steps.values():
            if (
                view.state == StepState.COMPLETED
                and view.operation is None
                and view.data_version != self.event_version
            ):
                self._amend_if_changed(view, now)
        self._settle_status()

    def correct(
        self,
        event: BirthEvent,
        version: int,
        now: datetime,
        source: dict[str, Any] | None = None,
    ) -> None:
        """Apply a correction (the event's new `version`; `source`: as posted):
        steps not yet sent will use it, a rejected step is sent again with it,
        completed steps whose department data changed are amended (in-flight
        ones once they land).
        Raises `CorrectionRefusedError` when it cannot be applied."""
        if self.status.cancel_asked:
            raise CorrectionRefusedError("the birth was cancelled: it accepts no correction")
        if event.services != self.event.services:
            raise CorrectionRefusedError(
                "the services asked for cannot be corrected once the birth is accepted"
            )
        self._refuse_fixed_changes(event)
        previous = self.event
        self.versions[version] = event
        self.event, self.event_version = event, version
        self.source = source if source is not None else event.model_dump(mode="json")
        self.transitions.append(
            Transition(None, self.status.value, self.status.value, f"corrected: version {version}")
        )
        self._redecide(previous)
        for view in self.steps.values():
            if view.state != StepState.REJECTED:
                continue
            if view.operation == "amend":  # the amendment was refused: amend again
                view.op_version = version
                self._restart(view, now, "amend with the corrected data")
            elif view.department_ref is None:  # refused at submission: submit again
                view.data_version = version
                self._restart(view, now, "retry with the corrected data")
            else:  # refused at review: the department amends and reviews again
                self._amend_if_changed(view, now)
        self.advance(now)

    def parents_decide(
        self, step: StepName, decision: Literal["confirm", "decline"], now: datetime
    ) -> bool:
        """The parents confirm a benefit (it is sent to the department) or decline
        it (`skipped`). False when the step is not awaiting the parents."""
        view = self.steps.get(step)
        if view is None or view.state != StepState.AWAITING_PARENTS:
            return False
        if decision == "confirm":
            self._dispatch(view, now, detail="confirmed by the parents")
        else:
            self._move(view, StepState.SKIPPED, "declined by the parents", next_at=None)
        self._settle_status()
        return True

    def _decision(self, step: StepName) -> str:
        """A benefit's decision in words, for the history: each programme's answer."""
        spec = self.plan.spec(step)
        if spec.explain is None:
            return "eligible"
        return "; ".join(
            f"{d.code}: eligible, {d.monthly_amount_fen} fen a month, "
            f"{d.first_month} to {d.last_month}"
            if d.eligible
            else f"{d.code}: not eligible ({d.reason['en'] if d.reason else ''})"
            for d in spec.explain(self.event)
        )

    def _redecide(self, previous: BirthEvent) -> None:
        """A correction re-decides the eligibility of benefits not yet sent; each
        decision that changes is a line of history, and a benefit whose decision
        changed while the parents were asked is asked again."""
        for view in self.steps.values():
            spec = self.plan.spec(view.step) if view.step in self.plan.steps else None
            if spec is None or not spec.asks_parents:
                continue
            undecided = view.state in (StepState.WAITING, StepState.AWAITING_PARENTS)
            decided_no = view.state == StepState.NOT_APPLICABLE and view.attempt == 0
            if not (undecided or decided_no) or view.last_error == ADOPTED:
                continue
            reason = spec.eligible(self.event, self.plan.context)
            if reason:
                if view.state != StepState.NOT_APPLICABLE or reason != view.last_error:
                    self._move(
                        view, StepState.NOT_APPLICABLE, f"re-decided: {reason}", next_at=None
                    )
                    view.last_error = reason
                continue
            if view.state == StepState.NOT_APPLICABLE:
                blocked = [
                    self.steps[need].state
                    for need in spec.needs
                    if self.steps[need].state in RELEASED_STATES | {StepState.OFFLINE}
                ]
                state = blocked[0] if blocked else StepState.WAITING
                why = f"a step it needs is {state.value}" if blocked else "eligible"
                self._move(view, state, f"re-decided: {why}", next_at=None)
                view.last_error = why if blocked else None
            elif view.state == StepState.AWAITING_PARENTS:
                before = self._decision_of(view.step, previous)
                now_decided = self._decision(view.step)
                if before != now_decided:
                    why = f"re-decided: {now_decided}: asking the parents again"
                    self._move(view, StepState.AWAITING_PARENTS, why, next_at=None)

    def _decision_of(self, step: StepName, event: BirthEvent) -> str:
        current, self.event = self.event, event
        try:
            return self._decision(step)
        finally:
            self.event = current

    def _refuse_fixed_changes(self, event: BirthEvent) -> None:
        """A field that a step sent (or being sent) fixes cannot be corrected."""
        for view in self.steps.values():
            if view.state not in SENT_STATES and view.operation is None:
                continue
            spec = self.plan.spec(view.step)
            for path in spec.fixed_once_sent:
                if _at(event, path) != _at(self.event, path):
                    raise CorrectionRefusedError(
                        f"the {spec.texts.title['en'].lower()} has already been sent to "
                        f"{spec.department} (it is {view.state.value}): {path} can no longer "
                        "change; cancel this birth and report it anew"
                    )

    def cancel(self, reason: str, now: datetime) -> bool:
        """Cancel the birth (reported in error): steps not started are cancelled,
        completed ones revoked in reverse dependency order, requests awaiting the
        department withdrawn. The birth is `cancelling` until nothing is left at
        any department, then `cancelled`. False when it was cancelled already."""
        if self.status.cancel_asked:
            return False
        self.transitions.append(
            Transition(None, self.status.value, BirthStatus.CANCELLING.value, reason)
        )
        self.status = BirthStatus.CANCELLING
        self.cancel_reason = reason
        for view in self.steps.values():
            if view.operation == "amend":  # the department holds an older version
                view.operation, view.op_version = None, None
                self._move(view, StepState.COMPLETED, "amendment dropped: cancelled", next_at=None)
        self.advance(now)
        return True

    def on_reply(self, step: StepName, reply: StepReply, attempt: int, now: datetime) -> str | None:
        """Apply an adapter's reply (or a department's callback) to a step; the
        reason when the department's answer is refused (it gives an output that
        cannot be this birth's)."""
        view = self.steps[step]
        if view.operation is not None:
            if reply.operation == ACTION_OF[view.operation]:
                self._on_operation_reply(view, reply, attempt, now)
                self.advance(now)
            return None  # an answer to a command the step no longer waits for
        if reply.operation != "submit":
            return None  # a late answer to an amendment or revocation already settled
        if self._done_after_all(view, reply):
            self.advance(now)
            return None
        if view.state in FINAL_STEP_STATES or view.state == StepState.FAILED:
            self._check_late_answer(view, reply)
            return None  # a late duplicate: the step is settled
        match reply.outcome:
            case "completed":
                wrong = self.plan.spec(step).verify(self.event, {**view.output, **reply.output})
                if wrong:  # the step keeps waiting for a right answer; operators see why
                    self._alert(view, f"refused the department's answer: {wrong}")
                    return wrong
                view.output = {**view.output, **reply.output}
                view.department_ref = reply.reference or view.department_ref
                view.finished_at = now
                self._move(view, StepState.COMPLETED, None, next_at=None)
            case "accepted":
                if view.state in (StepState.QUEUED, StepState.IN_PROGRESS, StepState.RETRYING):
                    view.output = {**view.output, **reply.output}
                    view.department_ref = reply.reference
                    self._move(
                        view,
                        StepState.AWAITING_DEPARTMENT,
                        f"reference {reply.reference}",
                        next_at=now + self.policy.poll_after,
                    )
            case "pending":
                if view.state == StepState.AWAITING_DEPARTMENT:
                    view.next_attempt_at = now + self.policy.poll_after
                    view.changed = True
            case "rejected":
                view.finished_at = now
                self._move(view, StepState.REJECTED, reply.reason, next_at=None)
            case "transient":
                self._on_transient(view, reply, attempt, now)
        self.advance(now)
        return None

    def _check_late_answer(self, view: StepView, reply: StepReply) -> None:
        """A completed step answered again: the same answer is a duplicate; one
        that contradicts it is kept in the history and shown to operators."""
        if view.state != StepState.COMPLETED or reply.outcome not in ("completed", "rejected"):
            return
        differs = {k: v for k, v in reply.output.items() if view.output.get(k) != v}
        if reply.outcome == "completed" and not differs:
            return
        said = reply.reason if reply.outcome == "rejected" else ", ".join(sorted(differs))
        self._alert(
            view, f"the department answered again, contradicting it ({reply.outcome}: {said})"
        )

    def _alert(self, view: StepView, detail: str) -> None:
        """A line of history for operators; the step stays where it is."""
        self.transitions.append(
            Transition(view.step, view.state.value, view.state.value, detail, alert=True)
        )
        view.last_error, view.changed = detail, True

    def retry(self, step: StepName, now: datetime) -> bool:
        """An operator's retry of a `failed` or `rejected` step: a fresh deadline and
        another attempt, with the same idempotency key; a failed amendment or
        revocation is sent again. False when not retryable."""
        view = self.steps[step]
        if view.state not in NEEDS_ACTION_STATES:
            return False
        if self.status.cancel_asked and view.operation not in ("revoke", "withdraw"):
            return False  # a cancelled birth sends nothing new, only its revocations
        self._restart(view, now, "retry asked by an operator")
        self._settle_status()
        return True

    def on_due(self, now: datetime) -> None:
        """The sweeper's visit: act on every step whose time has come."""
        for view in self.steps.values():
            if view.next_attempt_at is None or view.next_attempt_at > now:
                continue
            if view.state in (StepState.QUEUED, StepState.IN_PROGRESS, StepState.RETRYING):
                if view.deadline_at is not None and now >= view.deadline_at:
                    self._move(view, StepState.FAILED, "deadline passed", next_at=None)
                else:
                    # In a cancelling birth too: the department may hold what an
                    # unanswered submission asked for. Sent again under the same
                    # key, its answer says so (then it is revoked) or not.
                    self._dispatch(view, now)
            elif view.state == StepState.AWAITING_DEPARTMENT:
                view.next_attempt_at = now + self.policy.dispatch_lease
                view.changed = True
                self.dispatches.append(
                    Dispatch(view.step, "poll", view.attempt, reference=view.department_ref)
                )
        self.advance(now)

    # How ---------------------------------------------------------------------

    def _amend_if_changed(self, view: StepView, now: datetime) -> None:
        """Amend what the department holds when the step's record differs in the
        current version; otherwise note that it holds the current version."""
        outputs = self.outputs()
        held = self.plan.record(view.step, self.versions[view.data_version], outputs)
        wanted = self.plan.record(view.step, self.event, outputs)
        if held == wanted:
            view.data_version = self.event_version
            view.changed = True
            return
        view.operation, view.op_version = "amend", self.event_version
        self._restart(view, now, f"amend to version {self.event_version}")

    def _restart(self, view: StepView, now: datetime, detail: str) -> None:
        """Dispatch a new operation (or a corrected submission): a fresh deadline."""
        view.deadline_at = None
        view.finished_at = None
        self._dispatch(view, now, detail=detail)

    def _done_after_all(self, view: StepView, reply: StepReply) -> bool:
        """A submission of a cancelled birth that was given up on (no answer
        within its lease) answered done or accepted after all: take the answer,
        so that the department's record is revoked or withdrawn like the rest."""
        if view.state != StepState.CANCELLED or view.department_ref is not None:
            return False  # not given up on, or withdrawn at the department already
        if reply.outcome not in ("completed", "accepted"):
            return False
        view.output = {**view.output, **reply.output}
        view.department_ref = reply.reference
        done = reply.outcome == "completed"
        state = StepState.COMPLETED if done else StepState.AWAITING_DEPARTMENT
        self._move(view, state, "answered after the birth was cancelled", next_at=None)
        return True

    def _compensate(self, now: datetime) -> None:
        """One pass of cancellation, dependants before what they depend on."""
        for step in reversed(self.plan.steps):
            view = self.steps.get(step)
            if view is None or view.operation is not None:
                continue  # a revocation under way, or failed (an operator retries it)
            if view.state == StepState.COMPLETED:
                dependants = [self.steps[d] for d in self.plan.dependants(step) if d in self.steps]
                if any(d.state not in RELEASED_STATES for d in dependants):
                    continue
                if self.plan.spec(step).compensation == "none":
                    self._move(view, StepState.COMPENSATED, "nothing to undo", next_at=None)
                else:
                    view.operation = "revoke"
                    self._restart(view, now, "revoke: the birth was cancelled")
            elif view.state == StepState.AWAITING_DEPARTMENT:
                view.operation = "withdraw"
                self._restart(view, now, "withdraw: the birth was cancelled")
            elif view.state in (
                StepState.WAITING,
                StepState.AWAITING_PARENTS,
                StepState.REJECTED,
                StepState.FAILED,
                StepState.OFFLINE,
            ):
                view.next_attempt_at = None
                self._move(view, StepState.CANCELLED, "the birth was cancelled", next_at=None)
            # QUEUED, RETRYING: a submission in flight (an earlier attempt may have
            # reached the department); its answer decides (revoke, withdraw or cancel).

    def _on_operation_reply(
        self, view: StepView, reply: StepReply, attempt: int, now: datetime
    ) -> None:
        operation = view.operation
        match reply.outcome:
            case "completed" | "accepted" if operation == "amend":
                assert view.op_version is not None
                view.data_version, view.op_version, view.operation = view.op_version, None, None
                view.output = {**view.output, **reply.output}
                view.finished_at = now
                if reply.outcome == "completed":
                    detail = f"amended to version {view.data_version}"
                    self._move(view, StepState.COMPLETED, detail, next_at=None)
                else:  # the department reviews the amended request again
                    self._move(
                        view,
                        StepState.AWAITING_DEPARTMENT,
                        f"amended to version {view.data_version}, under review",
                        next_at=now + self.policy.poll_after,
                    )
            case "completed" | "accepted":
                view.operation = None
                view.finished_at = now
                if operation == "withdraw":
                    self._move(
                        view, StepState.CANCELLED, "withdrawn at the department", next_at=None
                    )
                else:
                    self._move(
                        view, StepState.COMPENSATED, "revoked at the department", next_at=None
                    )
            case "rejected":
                view.finished_at = now
                if operation == "amend":
                    self._move(view, StepState.REJECTED, reply.reason, next_at=None)
                else:
                    why = f"revoke refused: {reply.reason}"
                    self._move(view, StepState.FAILED, why, next_at=None)
            case "transient":
                self._on_transient(view, reply, attempt, now)
            case "pending":
                pass

    def _on_transient(self, view: StepView, reply: StepReply, attempt: int, now: datetime) -> None:
        if view.state == StepState.AWAITING_DEPARTMENT:  # a poll failed: poll again later
            view.next_attempt_at = now + self.policy.retry_delay(1, reply.retry_after_s)
            view.changed = True
            return
        if attempt != view.attempt or view.state not in (StepState.QUEUED, StepState.IN_PROGRESS):
            return  # the answer to an attempt that has already been superseded
        retry_at = now + self.policy.retry_delay(view.attempt, reply.retry_after_s)
        if view.deadline_at is not None and retry_at >= view.deadline_at:
            self._move(view, StepState.FAILED, f"retries exhausted: {reply.reason}", next_at=None)
        else:
            self._move(view, StepState.RETRYING, reply.reason, next_at=retry_at)

    def _dispatch(self, view: StepView, now: datetime, *, detail: str | None = None) -> None:
        if view.operation is None and view.attempt == 0:
            view.data_version = self.event_version  # a first submission: the current data
        view.attempt += 1
        view.started_at = view.started_at or now
        view.deadline_at = view.deadline_at or now + self.policy.step_deadline
        why = f"attempt {view.attempt}, to {self.plan.department(view.step)}"
        if detail:
            why = f"{detail}: {why}"
        self._move(view, StepState.QUEUED, why, next_at=now + self.policy.dispatch_lease)
        action: Action = ACTION_OF[view.operation] if view.operation else "submit"
        reference = view.department_ref if action != "submit" else None
        self.dispatches.append(Dispatch(view.step, action, view.attempt, reference=reference))

    def _move(
        self, view: StepView, to: StepState, detail: str | None, *, next_at: datetime | None
    ) -> None:
        if to != view.state or detail:
            self.transitions.append(Transition(view.step, view.state.value, to.value, detail))
        view.state = to
        view.next_attempt_at = next_at
        if to in NEEDS_ACTION_STATES or to == StepState.RETRYING:
            view.last_error = detail
        elif to == StepState.COMPLETED:
            view.last_error = None
        view.changed = True

    def _settle_status(self) -> None:
        states = [v.state for v in self.steps.values()]
        if self.status == BirthStatus.CANCELLING and all(s in RELEASED_STATES for s in states):
            detail = "nothing is left at any department"
            self.transitions.append(
                Transition(None, self.status.value, BirthStatus.CANCELLED.value, detail)
            )
            self.status = BirthStatus.CANCELLED
        if self.status.cancel_asked:
            return
        if any(s in NEEDS_ACTION_STATES for s in states):
            status = BirthStatus.ACTION_REQUIRED
        elif all(s in FINAL_STEP_STATES for s in states):
            status = BirthStatus.COMPLETED
        else:
            status = BirthStatus.IN_PROGRESS
        if status != self.status:
            self.transitions.append(Transition(None, self.status.value, status.value))
            self.status = status


def _at(event: BirthEvent, path: str) -> object:
    """The value at a dotted path of the event (None where a part is missing)."""
    value: object = event
    for name in path.split("."):
        value = getattr(value, name, None)
    return value
