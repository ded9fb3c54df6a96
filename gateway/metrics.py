"""Prometheus metrics (prometheus-client); `GET /metrics` (gateway.api.operators)
serves `exposition()`.

Two kinds:
- events, counted where they happen in this process: step durations per
  department (histogram, from first dispatch to completion), retries, steps
  failed, callbacks accepted and refused, dead letters moved and re-driven;
- levels, read from the saga store when scraped (so any gateway replica answers
  for the whole deployment): births by status, steps by state per department,
  the outbox's backlog and the age of its oldest unpublished message (lag),
  dead letters waiting for an operator.

The adapters' circuit states (`birthlink_department_circuit_state`) are in the
same default registry when the adapters run in this process (`birthlink up`).
No label ever carries a birth id or personal data.
"""

from datetime import UTC, datetime

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from contracts.steps import StepState
from gateway.saga.machine import Saga
from gateway.store.db import Database
from gateway.store.tables import Birth, DeadLetterRow, OutboxRow, StepRow

STEP_SECONDS = Histogram(
    "birthlink_step_duration_seconds",
    "From a step's first dispatch to its completion, per department.",
    ["department"],
    # Departments answer in milliseconds, review in hours, mail cards in weeks.
    buckets=(0.1, 0.5, 1, 5, 30, 120, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400),
)
RETRIES = Counter(
    "birthlink_step_retries_total", "Steps put back to wait for a retry.", ["department"]
)
FAILED = Counter(
    "birthlink_steps_failed_total", "Steps failed (retries exhausted or deadline).", ["department"]
)
CALLBACKS = Counter(
    "birthlink_callbacks_total",
    "Department callbacks by outcome (accepted, refused: bad signature, unknown, malformed).",
    ["department", "outcome"],
)
DEAD_LETTERS_MOVED = Counter(
    "birthlink_dead_letters_total", "Messages dead-lettered and moved to the table.", ["queue"]
)
ALERTS = Counter(
    "birthlink_department_answers_alerted_total",
    "Department answers refused (an output that cannot be the birth's) or contradicting "
    "a completed step; each is in the birth's history and the step's last_error.",
    ["department"],
)
SAGA_CONFLICTS = Counter(
    "birthlink_saga_conflicts_total",
    "Changes to a birth that another writer made first (optimistic lock): decided again; "
    "by the writer that lost (replies, timer, hospital, operator, parents).",
    ["writer"],
)
REDRIVES = Counter("birthlink_dead_letter_redrives_total", "Dead letters re-driven.", ["queue"])

BIRTHS = Gauge("birthlink_births", "Births by status.", ["status"])
STEPS = Gauge("birthlink_steps", "Steps by department and state.", ["department", "state"])
OUTBOX_BACKLOG = Gauge("birthlink_outbox_unpublished", "Outbox messages not yet published.")
OUTBOX_LAG = Gauge(
    "birthlink_outbox_lag_seconds", "Age of the oldest unpublished outbox message (0: none)."
)
DEAD_WAITING = Gauge(
    "birthlink_dead_letters_waiting", "Dead letters not re-driven yet, per queue.", ["queue"]
)


def observe_saga(saga: Saga, now: datetime) -> None:
    """Count what a committed change did: completions (with their duration),
    retries, failures and department answers refused or contradicting."""
    for transition in saga.transitions:
        if transition.step is None:
            continue
        department = saga.plan.department(transition.step)
        if transition.alert:
            ALERTS.labels(department).inc()
        elif transition.to_state == StepState.COMPLETED:
            started = saga.steps[transition.step].started_at
            if started is not None:
                STEP_SECONDS.labels(department).observe(max((now - started).total_seconds(), 0))
        elif transition.to_state == StepState.RETRYING:
            RETRIES.labels(department).inc()
        elif transition.to_state == StepState.FAILED:
            FAILED.labels(department).inc()


async def refresh_levels(db: Database, now: datetime) -> None:
    """Set the level gauges from the saga store."""
    async with db.read() as session:
        births = (
            await session.execute(select(Birth.status, func.count()).group_by(Birth.status))
        ).all()
        steps = (
            await session.execute(
                select(StepRow.department, StepRow.state, func.count()).group_by(
                    StepRow.department, StepRow.state
                )
            )
        ).all()
        backlog, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxRow.created_at)).where(
                    OutboxRow.published_at.is_(None)
                )
            )
        ).one()
        dead = (
            await session.execute(
                select(DeadLetterRow.queue, func.count())
                .where(DeadLetterRow.redriven_at.is_(None))
                .group_by(DeadLetterRow.queue)
            )
        ).all()
    _set_all(BIRTHS, {(status,): n for status, n in births})
    _set_all(STEPS, {(dept, state): n for dept, state, n in steps})
    OUTBOX_BACKLOG.set(backlog or 0)
    since = _aware(oldest)
    OUTBOX_LAG.set(max((now - since).total_seconds(), 0) if since else 0)
    _set_all(DEAD_WAITING, {(queue,): n for queue, n in dead})


def _set_all(gauge: Gauge, values: dict[tuple[str, ...], int]) -> None:
    # Labels that had a value before and have none now read 0, not their old value.
    gauge.clear()
    for labels, value in values.items():
        gauge.labels(*labels).set(value)


def _aware(value: datetime | None) -> datetime | None:
    # func.min() skips the column type: SQLite gives a naive UTC datetime or a string.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def exposition(db: Database, now: datetime) -> bytes:
    """Every metric of this process, levels fresh from the store, in text format."""
    await refresh_levels(db, now)
    return generate_latest(REGISTRY)
