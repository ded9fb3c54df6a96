"""What parents get: text messages through the outbox and the notifier, and the
live view behind the tracking code; on both transports and stores."""

import itertools
import json
import random
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from birthlink.samples import birth_event
from bus.topology import NOTIFICATIONS_EXCHANGE
from contracts.envelope import Envelope
from gateway.store.tables import InboxRow, OutboxRow
from tests.support.servers import wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


async def sms_to(stack: Stack, phone: str) -> list[dict[str, Any]]:
    response = await stack.sandbox.get("/sms/_sandbox/messages")
    response.raise_for_status()
    return [m for m in response.json()["messages"] if m["to"] == phone]


async def wait_for_sms(stack: Stack, phone: str, count: int) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]] | None:
        messages = await sms_to(stack, phone)
        return messages if len(messages) >= count else None

    return await wait_for(arrived, within=30, what=f"{count} messages")


def personal_values(event: dict[str, Any], birth: dict[str, Any]) -> list[str]:
    """Everything a message must never contain: ID numbers, addresses, names."""
    values = [
        event["mother"]["id_number"],
        event["father"]["id_number"],
        event["mother"]["name"],
        event["father"]["name"],
        event["child"]["name"],
        event["household"]["hukou_address"],
        event["contact"]["mailing_address"]["detail"],
    ]
    for step in birth["steps"]:
        if step["output"].get("citizen_id"):
            values.append(step["output"]["citizen_id"])
    return values


async def test_a_birth_that_goes_through_sends_two_messages_once_each(stack: Stack) -> None:
    await stack.sandbox.post("/sms/_sandbox/faults", json={"fail_next": 2})  # down at first
    event = birth_event(random.Random(51))
    phone = event["contact"]["phone"]
    posted = (await stack.post(event)).json()
    birth = await stack.wait_until_final(posted["birth_id"])
    assert birth["status"] == "completed"
    accepted, done = await wait_for_sms(stack, phone, 2)
    assert posted["tracking_code"] in accepted["text"]
    assert "已受理" in accepted["text"]
    assert "全部办结" in done["text"]
    for message in (accepted, done):
        assert message["requests"] == 1
        for value in personal_values(event, birth):
            assert value not in message["text"]
        assert not re.search(r"\d{17}[\dX]", message["text"])  # no ID number at all

    # A crash after the provider sent them but before we remembered it: the
    # relay publishes again and the notifier calls the provider again, with
    # the same idempotency keys. Nothing new is sent. The notifier remembers a
    # message just after the provider answers, so wait for that first.
    async def remembered() -> bool:
        async with stack.runtime.db.read() as session:
            rows = await session.scalars(select(InboxRow).where(InboxRow.consumer == "notifier"))
            return len(rows.all()) == 2

    await wait_for(remembered, within=10, what="the notifier remembering both messages")
    async with stack.runtime.db.write() as session:
        await session.execute(delete(InboxRow).where(InboxRow.consumer == "notifier"))
        rows = (
            await session.scalars(
                select(OutboxRow).where(OutboxRow.exchange == NOTIFICATIONS_EXCHANGE)
            )
        ).all()
    assert len(rows) == 2
    envelopes = [Envelope.model_validate(row.envelope) for row in rows]
    # One batch with a message twice in it, then the same batch again: each is
    # sent once more (the provider's key keeps it one text), then remembered.
    await stack.runtime.notifier.handle_batch([*envelopes, envelopes[0]])
    await stack.runtime.notifier.handle_batch(envelopes)
    again = await sms_to(stack, phone)
    assert [m["id"] for m in again] == [accepted["id"], done["id"]]
    assert [m["requests"] for m in again] == [2, 2]


async def test_a_step_that_needs_the_parents_sends_one_message_naming_it(stack: Stack) -> None:
    event = birth_event(random.Random(52))
    reason = "母亲证件信息与户籍系统不符"
    await stack.faults(
        "nhc",
        reject=[{"field": "mqsfzh", "equals": event["mother"]["id_number"], "reason": reason}],
    )
    posted = (await stack.post(event)).json()
    birth = await stack.wait_until_final(posted["birth_id"])
    assert birth["status"] == "action_required"
    messages = await wait_for_sms(stack, event["contact"]["phone"], 2)
    assert len(messages) == 2
    accepted, needed = messages
    assert posted["tracking_code"] in accepted["text"]
    assert "出生医学证明需要您处理" in needed["text"]
    assert "全部办结" not in needed["text"]
    for message in messages:
        for value in personal_values(event, birth):
            assert value not in message["text"]


async def events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The `update` events of a server-sent event stream, parsed."""
    block: list[str] = []
    async for line in response.aiter_lines():
        if line:
            block.append(line)
            continue
        fields = dict(part.split(": ", 1) for part in block if not part.startswith(":"))
        block = []
        if fields.get("event") == "update":
            yield json.loads(fields["data"])


async def test_the_live_stream_sends_one_event_per_change_until_all_done(stack: Stack) -> None:
    event = birth_event(random.Random(53))
    posted = (await stack.post(event)).json()
    verification = {"X-Verification": event["mother"]["id_number"][-6:]}
    url = f"/v1/track/{posted['tracking_code']}/events"
    seen: list[dict[str, Any]] = []
    async with stack.anonymous.stream("GET", url, headers=verification) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        async for view in events(response):
            seen.append(view)
            if view["all_done"]:
                break
    assert len(seen) >= 3
    shown = [json.dumps({**view, "version": 0, "updated_at": ""}) for view in seen]
    assert all(a != b for a, b in itertools.pairwise(shown))  # each a change
    final = seen[-1]
    assert final["status"] == "completed"
    assert [s["state_text"]["zh"] for s in final["steps"]] == ["已完成"] * 5
    household = next(s for s in final["steps"] if s["step"] == "household_registration")
    [citizen_id] = [d["value"] for d in household["documents"] if d["name"] == "citizen_id"]
    assert re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", citizen_id)


async def test_wrong_tries_are_limited_per_client_and_code(stack: Stack) -> None:
    # docs/tracking-security.md: 5 wrong tries in 15 minutes per address and code.
    event = birth_event(random.Random(54))
    code = (await stack.post(event)).json()["tracking_code"]
    right = {"X-Verification": event["contact"]["phone"][-6:]}
    assert (await stack.anonymous.get(f"/v1/track/{code}", headers=right)).status_code == 200
    for i in range(5):
        path = f"/v1/track/{code}" + ("/events" if i % 2 else "")
        wrong = await stack.anonymous.get(path, headers={"X-Verification": f"{i:06d}"})
        assert wrong.status_code == 404
        assert wrong.headers["cache-control"] == "no-store"
    refused = await stack.anonymous.get(f"/v1/track/{code}", headers=right)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 15 * 60
    assert refused.headers["cache-control"] == "no-store"
    stream = await stack.anonymous.get(f"/v1/track/{code}/events", headers=right)
    assert stream.status_code == 429
