"""the duplicate rule as a unique key, so that it holds under concurrent posts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Births stored before have none: the duplicate query still finds them.
    with op.batch_alter_table("births") as batch:
        batch.add_column(sa.Column("duplicate_key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_births_duplicate_key"), ["duplicate_key"])


def downgrade() -> None:
    with op.batch_alter_table("births") as batch:
        batch.drop_constraint(op.f("uq_births_duplicate_key"), type_="unique")
        batch.drop_column("duplicate_key")
