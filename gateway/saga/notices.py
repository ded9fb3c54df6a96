"""Which text messages a change of a birth causes, decided with the change.

`notice_message(saga, history_seq, now)` looks at the transitions of this one
change and returns at most one message (so at most one per change); the unit of
work commits it to the outbox with the change itself: a crash can neither lose
the message nor send it for a change that was not committed.
The relay publishes it to `birthlink.notifications`; the notifier sends it.

Messages go when a birth is accepted (with the tracking code), when a step
needs the parents (`rejected`, `offline`), when a benefit waits for their
confirmation, and when everything is done. The
outbox row carries only the kind and the steps; the notifier reads the phone
and the tracking code when it sends, so no personal data travels on the bus.
The row's `message_id` is derived from the change (the birth and the history
sequence number it starts at): it is also the SMS provider's idempotency key.
"""

# ruff: noqa: RUF001

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from contracts.envelope import Envelope
from contracts.steps import BirthStatus, StepState
from gateway.saga.machine import Message, Saga

NOTIFY_TYPE = "NotifyParents"
Kind = Literal["accepted", "action_needed", "completed", "benefits"]
NEEDS_PARENTS = (StepState.REJECTED.value, StepState.OFFLINE.value)
ASKING = frozenset({StepState.AWAITING_PARENTS})
SETTLED = frozenset({StepState.COMPLETED, StepState.NOT_APPLICABLE})


class Notice(BaseModel):
    """What to tell the parents: the kind of message and the steps it names."""

    kind: Kind
    steps: list[str] = []
    # Each benefit in a line (zh, then en): what it pays, or why it does not apply.
    benefits: list[str] = []


def _yuan(fen: int | None) -> str:
    return f"{(fen or 0) / 100:,.2f}".removesuffix(".00")


def benefit_lines(saga: Saga, states: frozenset[StepState]) -> list[str]:
    """The benefits of `saga` in one of `states`, in words for a text message."""
    lines = []
    for step, view in saga.steps.items():
        spec = saga.plan.spec(step) if step in saga.plan.steps else None
        if spec is None or not spec.asks_parents or view.state not in states:
            continue
        title = spec.texts.title
        if view.state == StepState.AWAITING_PARENTS:
            paid = [d for d in (spec.explain(saga.event) if spec.explain else []) if d.eligible]
            zh = "，".join(f"{d.title['zh']}每月{_yuan(d.monthly_amount_fen)}元" for d in paid)
            en = ", ".join(
                f"{d.title['en']} {_yuan(d.monthly_amount_fen)} yuan a month" for d in paid
            )
            lines.append(
                f"{title['zh']}可以领取{('（' + zh + '）') if zh else ''}，请在页面确认。"
                f" {title['en']}: you can receive it{(' (' + en + ')') if en else ''}; "
                "confirm on the page."
            )
        elif view.state == StepState.NOT_APPLICABLE:
            lines.append(f"{title['zh']}：不符合条件，原因见页面。 {title['en']}: not eligible.")
        elif view.state == StepState.COMPLETED:
            paid_to = view.output.get("paid_to") or ""
            lines.append(
                f"{title['zh']}：已办理，发放至{paid_to}。 {title['en']}: paid to {paid_to}."
            )
    return lines


def decide(saga: Saga) -> Notice | None:
    """The one message this change of `saga` calls for, if any."""
    transitions = saga.transitions
    accepted = any(t.step is None and t.from_state is None for t in transitions)
    needing = list(
        dict.fromkeys(t.step for t in transitions if t.step and t.to_state in NEEDS_PARENTS)
    )
    done = any(
        t.step is None and t.from_state is not None and t.to_state == BirthStatus.COMPLETED.value
        for t in transitions
    )
    asking = any(t.step and t.to_state == StepState.AWAITING_PARENTS.value for t in transitions)
    offline = [s for s, v in saga.steps.items() if v.state == StepState.OFFLINE]
    if accepted:
        return Notice(kind="accepted", steps=offline, benefits=benefit_lines(saga, ASKING))
    if done:
        return Notice(kind="completed", steps=offline, benefits=benefit_lines(saga, SETTLED))
    if needing:
        return Notice(kind="action_needed", steps=needing)
    if asking:
        return Notice(kind="benefits", benefits=benefit_lines(saga, ASKING))
    return None


def notice_message(saga: Saga, history_seq: int, now: datetime) -> Message | None:
    """The message (if any) for the change `saga` is about to commit;
    `history_seq` is the birth's history sequence before this change."""
    notice = decide(saga)
    if notice is None:
        return None
    envelope = Envelope(
        message_id=f"sms-{saga.birth_id}-{history_seq + 1}",
        type=NOTIFY_TYPE,
        birth_id=saga.birth_id,
        occurred_at=now,
        data=notice.model_dump(mode="json"),
    )
    return Message("notifications", f"sms.{notice.kind}", envelope)
