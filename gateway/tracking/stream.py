"""The live stream of a parent's view: server-sent events, one per change.

Each open stream looks at the birth's `version` in the database every
`poll_s` (simple, and it sees changes made by any process); when it moved, the
view is built again and sent if what parents see changed (a poll of a
department bumps the version but changes nothing for them). A comment line
every `heartbeat_s` keeps proxies from closing an idle stream and lets a
vanished client be noticed. A stream ends after `max_s`; the page reconnects
(the `retry` field tells EventSource-like clients how soon), sending the last
event id (the birth's version) so that an unchanged view is not sent again.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from contracts.registry import Registry
from gateway.clock import Clock
from gateway.deadlines import NEAR_DEADLINE
from gateway.store.db import Database
from gateway.store.tables import Birth
from gateway.tracking.view import load_view

RETRY_MS = 2000
# Fields that move without anything the parents see moving.
VOLATILE = ("version", "updated_at")


def visible(view: dict[str, Any]) -> str:
    """What the parents see of `view`, as a comparable string."""
    return json.dumps({k: v for k, v in view.items() if k not in VOLATILE}, sort_keys=True)


def event(view: dict[str, Any]) -> str:
    """One `update` event carrying the view; its id is the birth's version."""
    data = json.dumps(view, ensure_ascii=False, separators=(",", ":"))
    return f"id: {view['version']}\nevent: update\ndata: {data}\n\n"


async def updates(
    db: Database,
    clock: Clock,
    registry: Registry,
    birth_id: str,
    *,
    last_event_id: str | None = None,
    near: timedelta = NEAR_DEADLINE,
    poll_s: float = 0.5,
    heartbeat_s: float = 15,
    max_s: float = 300,
) -> AsyncIterator[str]:
    """The event stream of one birth, until `max_s` has passed or the client left."""
    loop = asyncio.get_running_loop()
    started = last_beat = loop.time()
    seen_version = (
        int(last_event_id)
        if last_event_id
        and last_event_id.isascii()
        and last_event_id.isdigit()
        and len(last_event_id) <= 18  # "²" is a digit to isdigit(), 5,000 digits too many
        else None
    )
    sent: str | None = None
    yield f"retry: {RETRY_MS}\n\n"
    while loop.time() - started < max_s:
        async with db.read() as session:
            version = await session.scalar(select(Birth.version).where(Birth.id == birth_id))
            if version is None:
                return  # the birth is gone
            if version != seen_version:
                seen_version = version
                birth = await session.get(Birth, birth_id, populate_existing=True)
                assert birth is not None
                view = await load_view(session, birth, registry, clock.now(), near)
                if visible(view) != sent:
                    sent = visible(view)
                    yield event(view)
                    last_beat = loop.time()
        if loop.time() - last_beat >= heartbeat_s:
            last_beat = loop.time()
            yield ": still here\n\n"
        await asyncio.sleep(poll_s)
