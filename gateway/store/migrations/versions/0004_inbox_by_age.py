"""the pruner deletes inbox rows by age

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 15:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.create_index(batch.f("ix_inbox_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index(batch.f("ix_inbox_received_at"))
