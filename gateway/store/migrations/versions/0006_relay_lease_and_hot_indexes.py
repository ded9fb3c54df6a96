"""the relay claims outbox rows with a lease and is woken by NOTIFY; partial
indexes for the hot queries (rows still to send, open steps' timers)

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-03 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMED = "state IN ('queued', 'in_progress', 'retrying', 'awaiting_department')"

# One notification per transaction that leaves rows to send (PostgreSQL folds
# identical ones); the payload is the schema, so relays of other schemas ignore it.
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION birthlink_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('birthlink_outbox', TG_TABLE_SCHEMA);
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE OF published_at ON outbox
FOR EACH ROW WHEN (NEW.published_at IS NULL) EXECUTE FUNCTION birthlink_outbox_notify()
"""


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "ix_steps_timers",
        "steps",
        ["next_attempt_at"],
        postgresql_where=sa.text(TIMED),
        sqlite_where=sa.text(TIMED),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.drop_index("ix_steps_timers", table_name="steps")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
