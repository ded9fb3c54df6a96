"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 14:17:30.045616
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.store.tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("hospital_code", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("created_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("replaced_by", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "births",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("hospital_code", sa.String(length=32), nullable=False),
        sa.Column("hospital_record_id", sa.String(length=64), nullable=False),
        sa.Column("tracking_code", sa.String(length=14), nullable=False),
        sa.Column("born_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("event", gateway.store.crypto.EncryptedJSON("births.event"), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("history_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("mother_hash", sa.String(length=64), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_births")),
        sa.UniqueConstraint(
            "hospital_code", "hospital_record_id", name=op.f("uq_births_hospital_code")
        ),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_births_tracking_code")),
    )
    with op.batch_alter_table("births", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_births_born_at"), ["born_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_births_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_births_mother_hash"), ["mother_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_births_status"), ["status"], unique=False)

    op.create_table(
        "callback_secrets",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=8), nullable=False),
        sa.Column(
            "secret", gateway.store.crypto.EncryptedJSON("callback_secrets.secret"), nullable=True
        ),
        sa.Column("created_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_secrets")),
    )
    with op.batch_alter_table("callback_secrets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_secrets_department"), ["department"], unique=False
        )

    op.create_table(
        "dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("birth_id", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column(
            "envelope", gateway.store.crypto.EncryptedJSON("dead_letters.envelope"), nullable=False
        ),
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("dead_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("redriven_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("redriven_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("queue", "message_id", name=op.f("uq_dead_letters_queue")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letters_birth_id"), ["birth_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_letters_dead_at"), ["dead_at"], unique=False)

    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=80), nullable=False),
        sa.Column("received_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "message_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column("routing_key", sa.String(length=64), nullable=False),
        sa.Column(
            "envelope", gateway.store.crypto.EncryptedJSON("outbox.envelope"), nullable=False
        ),
        sa.Column("created_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_unpublished", ["published_at", "id"], unique=False)

    op.create_table(
        "birth_versions",
        sa.Column("birth_id", sa.String(length=32), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column(
            "event", gateway.store.crypto.EncryptedJSON("birth_versions.event"), nullable=False
        ),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("created_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["birth_id"], ["births.id"], name=op.f("fk_birth_versions_birth_id_births")
        ),
        sa.PrimaryKeyConstraint("birth_id", "event_version", name=op.f("pk_birth_versions")),
    )
    op.create_table(
        "history",
        sa.Column("birth_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=True),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("detail", gateway.store.crypto.EncryptedJSON("history.detail"), nullable=True),
        sa.ForeignKeyConstraint(
            ["birth_id"], ["births.id"], name=op.f("fk_history_birth_id_births")
        ),
        sa.PrimaryKeyConstraint("birth_id", "seq", name=op.f("pk_history")),
    )
    op.create_table(
        "steps",
        sa.Column("birth_id", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column(
            "next_attempt_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("deadline_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("department_ref", sa.String(length=64), nullable=True),
        sa.Column("output", gateway.store.crypto.EncryptedJSON("steps.output"), nullable=False),
        sa.Column(
            "last_error", gateway.store.crypto.EncryptedJSON("steps.last_error"), nullable=True
        ),
        sa.Column("started_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", gateway.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=True),
        sa.Column("op_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["birth_id"], ["births.id"], name=op.f("fk_steps_birth_id_births")),
        sa.PrimaryKeyConstraint("birth_id", "step", name=op.f("pk_steps")),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_steps_department_ref", ["department", "department_ref"], unique=False
        )
        batch_op.create_index("ix_steps_due", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index("ix_steps_due")
        batch_op.drop_index("ix_steps_department_ref")

    op.drop_table("steps")
    op.drop_table("history")
    op.drop_table("birth_versions")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_unpublished")

    op.drop_table("outbox")
    op.drop_table("inbox")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_dead_at"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_birth_id"))

    op.drop_table("dead_letters")
    with op.batch_alter_table("callback_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_secrets_department"))

    op.drop_table("callback_secrets")
    with op.batch_alter_table("births", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_births_status"))
        batch_op.drop_index(batch_op.f("ix_births_mother_hash"))
        batch_op.drop_index(batch_op.f("ix_births_created_at"))
        batch_op.drop_index(batch_op.f("ix_births_born_at"))

    op.drop_table("births")
    op.drop_table("api_keys")
