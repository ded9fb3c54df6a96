"""A birth's saga as a plain object: apply what happened, get the transitions
and the commands to send. The store loads it, the orchestrator feeds it, the
store saves what changed with the outbox in one commit.

Timers are fields, not tasks: `next_attempt_at` says when the sweeper must look
at a step again (a retry, an expired dispatch lease, a poll of the department).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from contracts.birth import BirthEvent
from contracts.replies import StepReply
from contracts.steps import (
    DEPARTMENT_OF,
    FINAL_STEP_STATES,
    NEEDS_ACTION_STATES,
    BirthStatus,
    Step,
    StepState,
)
from gateway.saga.plan import Plan


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

    step: Step
    state: StepState
    attempt: int = 0
    next_attempt_at: datetime | None = None
    deadline_at: datetime | None = None
    department_ref: str | None = None
    output: dict[str, str | None] = field(default_factory=dict)
    last_error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    changed: bool = False


@dataclass(frozen=True)
class Transition:
    """One line of history."""

    step: Step | None
    from_state: str | None
    to_state: str
    detail: str | None = None


@dataclass(frozen=True)
class Dispatch:
    """A command to send: submit the step's record, or poll the department."""

    step: Step
    action: Literal["submit", "poll"]
    attempt: int
    reference: str | None = None


class Saga:
    """One birth: its event, its steps, its status; records what changes."""

    def __init__(
        self,
        birth_id: str,
        event: BirthEvent,
        status: BirthStatus,
        steps: dict[Step, StepView],
        plan: Plan,
        policy: Policy,
    ) -> None:
        self.birth_id = birth_id
        self.event = event
        self.status = status
        self.steps = steps
        self.plan = plan
        self.policy = policy
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
        jurisdiction: str | None,
    ) -> "Saga":
        """A birth just accepted: first states, then start what can start."""
        saga = cls(birth_id, event, BirthStatus.IN_PROGRESS, {}, plan, policy)
        saga.transitions.append(Transition(None, None, BirthStatus.IN_PROGRESS.value, "accepted"))
        for step, (state, why) in plan.initial_states(event, jurisdiction).items():
            saga.steps[step] = StepView(step, state, last_error=why, changed=True)
            saga.transitions.append(Transition(step, None, state.value, why))
        return saga

    def idempotency_key(self, step: Step) -> str:
        return f"{self.birth_id}:{step.value}"

    def outputs(self) -> dict[Step, dict[str, str | None]]:
        return {s: v.output for s, v in self.steps.items() if v.state == StepState.COMPLETED}

    # What happens -----------------------------------------------------------

    def advance(self, now: datetime) -> None:
        """Dispatch every step whose dependencies are done; settle the status."""
        states = {s: v.state for s, v in self.steps.items()}
        for step in self.plan.ready(states):
            self._dispatch(self.steps[step], now)
        self._settle_status()

    def on_reply(self, step: Step, reply: StepReply, attempt: int, now: datetime) -> None:
        """Apply an adapter's reply (or a department's callback) to a step."""
        view = self.steps[step]
        if view.state in FINAL_STEP_STATES or view.state == StepState.FAILED:
            return  # a late duplicate: the step is settled
        match reply.outcome:
            case "completed":
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

    def retry(self, step: Step, now: datetime) -> bool:
        """An operator's retry of a `failed` or `rejected` step: a fresh deadline and
        another attempt, with the same idempotency key. False when not retryable."""
        view = self.steps[step]
        if view.state not in NEEDS_ACTION_STATES:
            return False
        view.deadline_at = None
        view.finished_at = None
        self._dispatch(view, now, detail="retry asked by an operator")
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
                    self._dispatch(view, now)
            elif view.state == StepState.AWAITING_DEPARTMENT:
                view.next_attempt_at = now + self.policy.dispatch_lease
                view.changed = True
                self.dispatches.append(
                    Dispatch(view.step, "poll", view.attempt, reference=view.department_ref)
                )
        self.advance(now)

    # How ---------------------------------------------------------------------

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
        view.attempt += 1
        view.started_at = view.started_at or now
        view.deadline_at = view.deadline_at or now + self.policy.step_deadline
        why = f"attempt {view.attempt}, to {DEPARTMENT_OF[view.step].value}"
        if detail:
            why = f"{detail}: {why}"
        self._move(view, StepState.QUEUED, why, next_at=now + self.policy.dispatch_lease)
        self.dispatches.append(Dispatch(view.step, "submit", view.attempt))

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
        if self.status == BirthStatus.CANCELLED:
            return
        states = [v.state for v in self.steps.values()]
        if any(s in NEEDS_ACTION_STATES for s in states):
            status = BirthStatus.ACTION_REQUIRED
        elif all(s in FINAL_STEP_STATES for s in states):
            status = BirthStatus.COMPLETED
        else:
            status = BirthStatus.IN_PROGRESS
        if status != self.status:
            self.transitions.append(Transition(None, self.status.value, status.value))
            self.status = status
