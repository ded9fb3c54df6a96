"""The hot queries are served by indexes, so their cost does not grow with the
finished births a store holds: PostgreSQL's own plans, on a store holding
20,000 finished births (100,000 steps, published outbox and inbox rows) and a
few open ones."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import sagas
from gateway.store.tables import InboxRow, OutboxRow, StepRow
from gateway.workers.pruner import batch_end, older
from gateway.workers.relay import claimable
from gateway.workers.timers import due_births, earliest_after
from tests.support.stack import saga_store

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
FINISHED = 20_000


async def plan_of(conn: AsyncConnection, statement: Any) -> dict[str, Any]:
    """PostgreSQL's plan for `statement`, with its parameters, as it would run it."""
    expanded = statement.compile(dialect=conn.dialect).construct_expanded_state()
    args = [expanded.parameters[name] for name in expanded.positiontup]
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    explained = await raw.fetchval(f"EXPLAIN (FORMAT JSON) {expanded.statement}", *args)
    if isinstance(explained, str):  # asyncpg decodes json only with a codec set
        explained = json.loads(explained)
    plan: dict[str, Any] = explained[0]["Plan"]
    return plan


def scans(plan: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(node type, index name) of every node of a plan."""
    found = [(plan["Node Type"], plan.get("Index Name"))]
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


FILL = """
INSERT INTO births (id, hospital_code, hospital_record_id, tracking_code, born_at, status,
                    event, body_hash, event_version, version, history_seq, created_at, updated_at)
SELECT 'b' || i, 'H1', 'r' || i, 'T' || i, :old, 'completed', '{}', 'h', 1, 1, 0, :old, :old
FROM generate_series(1, :n) AS i;
INSERT INTO steps (birth_id, step, department, state, attempt, idempotency_key, output,
                   updated_at, data_version)
SELECT 'b' || i, s, 'd', CASE WHEN i <= 10 THEN 'retrying' ELSE 'completed' END, 1, 'k', '{}',
       :old, 1
FROM generate_series(1, :n) AS i, unnest(ARRAY['s1', 's2', 's3', 's4', 's5']) AS s;
UPDATE steps SET next_attempt_at = :later WHERE state = 'retrying';
INSERT INTO outbox (message_id, exchange, routing_key, envelope, created_at, published_at)
SELECT 'm' || i, 'x', 'k', '{}', :old,
       CASE WHEN i <= 10 THEN NULL ELSE CAST(:old AS timestamptz) + i * interval '1 second' END
FROM generate_series(1, :n * 5) AS i;
INSERT INTO inbox (consumer, message_id, received_at)
SELECT 'orchestrator', 'm' || i, CAST(:old AS timestamptz) + i * interval '1 second'
FROM generate_series(1, :n * 5) AS i;
"""


async def test_hot_queries_use_their_indexes_on_postgresql(tmp_path: Path) -> None:
    async with saga_store("rabbitmq-postgres", tmp_path) as db:
        old, later = NOW - timedelta(days=30), NOW + timedelta(minutes=5)
        async with db.write() as session:
            for statement in FILL.split(";"):
                if statement.strip():
                    await session.execute(
                        text(statement), {"old": old, "later": later, "n": FINISHED}
                    )
        async with db.writer.connect() as conn:
            await conn.execute(text("COMMIT"))  # ANALYZE runs outside a transaction
            await conn.execute(text("ANALYZE"))
        cutoff = NOW - timedelta(days=7)
        hot: dict[str, tuple[Any, str]] = {
            "due timers": (due_births(NOW, 200), "ix_steps_timers"),
            "the earliest timer": (earliest_after(NOW), "ix_steps_timers"),
            # Either index reads only the rows still to send (NULLs first by `id`).
            "rows to send": (
                claimable(NOW, 200).with_for_update(skip_locked=True),
                "ix_outbox_pending|ix_outbox_unpublished",
            ),
            "a birth's steps": (select(StepRow).where(StepRow.birth_id == "b7"), "pk_steps"),
            "births with their steps": (sagas.LOAD_BY_ID.params(ids=["b7", "b8"]), "pk_steps"),
            "a callback's step": (
                select(StepRow).where(StepRow.department == "d", StepRow.department_ref == "R1"),
                "ix_steps_department_ref",
            ),
            "callbacks' births with their steps": (
                sagas.LOAD_BY_REFERENCES.params(references=[("d", "R1"), ("d", "R2")]),
                "ix_steps_department_ref",
            ),
            # The pruner's batch: its end, then a range of the index up to it.
            "the end of an outbox batch": (
                batch_end(OutboxRow.published_at, cutoff, 5000),
                "ix_outbox_unpublished",
            ),
            "an outbox batch": (
                older(OutboxRow.published_at, cutoff, old + timedelta(seconds=5000)),
                "ix_outbox_unpublished",
            ),
            "the end of an inbox batch": (
                batch_end(InboxRow.received_at, cutoff, 5000),
                "ix_inbox_received_at",
            ),
            "an inbox batch": (
                older(InboxRow.received_at, cutoff, old + timedelta(seconds=5000)),
                "ix_inbox_received_at",
            ),
        }
        async with db.writer.connect() as conn:
            for what, (statement, index) in hot.items():
                used = scans(await plan_of(conn, statement))
                assert set(index.split("|")) & {name for _, name in used}, (what, used)
                assert not any(node == "Seq Scan" for node, _ in used), (what, used)
