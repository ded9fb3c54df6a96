"""The inbox: which messages each consumer has applied (at-least-once delivery,
effects once)."""

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import InboxRow

_INBOX = cast(Table, InboxRow.__table__)
# Made once, rows sent as parameters: compiled once and cached (one
# insertmanyvalues statement), not compiled again for every batch.
_CLAIM = {
    name: dialect.insert(_INBOX)
    .on_conflict_do_nothing()
    .returning(_INBOX.c.consumer, _INBOX.c.message_id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


async def claim_many(
    session: AsyncSession, keys: Iterable[tuple[str, str]], *, now: datetime
) -> set[tuple[str, str]]:
    """Record the messages (consumer, message id) as applied, in one statement;
    returns those that were not already (each once, whatever the repeats)."""
    rows = list(dict.fromkeys(keys))
    if not rows:
        return set()
    claimed = await session.execute(
        _CLAIM[session.get_bind().dialect.name],
        [{"consumer": c, "message_id": m, "received_at": now} for c, m in rows],
    )
    return {(row.consumer, row.message_id) for row in claimed}
