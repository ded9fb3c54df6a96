"""The saga store's tables: one schema for SQLite and PostgreSQL (DESIGN.md)."""

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from contracts.steps import StepState
from gateway.store.crypto import EncryptedJSON

# Naming convention: stable constraint names for migrations on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The step states with a timer the sweeper visits (`steps.next_attempt_at`).
TIMED_STATES = tuple(
    s.value
    for s in (
        StepState.QUEUED,
        StepState.IN_PROGRESS,
        StepState.RETRYING,
        StepState.AWAITING_DEPARTMENT,
    )
)
TIMED_SQL = ", ".join(f"'{state}'" for state in TIMED_STATES)

# BigInteger autoincrement is not a rowid alias on SQLite; Integer is.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UtcDateTime}


class Birth(Base):
    """One birth and its current event version; `version` is the optimistic lock."""

    __tablename__ = "births"
    __table_args__ = (UniqueConstraint("hospital_code", "hospital_record_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    hospital_code: Mapped[str] = mapped_column(String(32))
    hospital_record_id: Mapped[str] = mapped_column(String(64))
    tracking_code: Mapped[str] = mapped_column(String(14), unique=True)
    # When the child was born: legal deadlines count from it (not personal data
    # on its own; kept in clear so that deadlines can be queried).
    born_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    event: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("births.event"))
    body_hash: Mapped[str] = mapped_column(String(64))
    event_version: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    history_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    # Issue 4 (duplicates, cancellation): a keyed hash of the mother's ID (never the
    # number) to find likely duplicates; the reason a cancelled birth was cancelled.
    mother_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The duplicate rule as a unique key (gateway.security.privacy.duplicate_key),
    # so that it holds under concurrent posts; None when the hospital confirmed
    # another birth (`duplicate_of_checked`), or once the birth is cancelled.
    duplicate_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class BirthVersion(Base):
    """Every accepted version of a birth's event (corrections add versions)."""

    __tablename__ = "birth_versions"

    birth_id: Mapped[str] = mapped_column(ForeignKey("births.id"), primary_key=True)
    event_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("birth_versions.event"))
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]


class StepRow(Base):
    """One step of one birth, with the timers that drive it."""

    __tablename__ = "steps"
    __table_args__ = (
        Index("ix_steps_due", "state", "next_attempt_at"),
        # The sweeper's due and earliest-due queries read only open steps' timers,
        # however many finished steps the store holds.
        Index(
            "ix_steps_timers",
            "next_attempt_at",
            postgresql_where=text(f"state IN ({TIMED_SQL})"),
            sqlite_where=text(f"state IN ({TIMED_SQL})"),
        ),
        Index("ix_steps_department_ref", "department", "department_ref"),
    )

    birth_id: Mapped[str] = mapped_column(ForeignKey("births.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    department: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(24))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(80))
    # When the sweeper must look at this step again: a retry, an expired
    # dispatch lease, a poll of the department. NULL: nothing is due.
    next_attempt_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    department_ref: Mapped[str | None] = mapped_column(String(64))
    output: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("steps.output"), default=dict)
    # A department's reason can quote the data it refused: sealed like the outputs.
    last_error: Mapped[str | None] = mapped_column(EncryptedJSON("steps.last_error"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # Issue 4 (corrections, cancellation): the event version the department holds,
    # and an amendment (to `op_version`), revocation or withdrawal under way.
    data_version: Mapped[int] = mapped_column(Integer, default=1)
    operation: Mapped[str | None] = mapped_column(String(16))
    op_version: Mapped[int | None] = mapped_column(Integer)


class HistoryRow(Base):
    """Append-only, gap-free per birth: every transition and who made it."""

    __tablename__ = "history"

    birth_id: Mapped[str] = mapped_column(ForeignKey("births.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    step: Mapped[str | None] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str | None] = mapped_column(EncryptedJSON("history.detail"))


class OutboxRow(Base):
    """A message committed with the state change that caused it; the relay
    publishes it and sets `published_at` after the broker confirmed."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unpublished", "published_at", "id"),  # the pruner's range
        # The relay's claim: only what is still to send, whatever was sent before.
        Index(
            "ix_outbox_pending",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    exchange: Mapped[str] = mapped_column(String(64))
    routing_key: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("outbox.envelope"))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    # A relay's short lease on the row while it waits for the broker's confirm
    # (outside any transaction); another relay takes the row once it passed.
    claimed_until: Mapped[datetime | None]


class InboxRow(Base):
    """A message a consumer has already applied: redeliveries are dropped."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)  # the pruner deletes by it


class ApiKey(Base):
    """A hospital's or operator's API key, stored as a hash only."""

    __tablename__ = "api_keys"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    hospital_code: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Rotation: the old key stays valid until `expires_at`; `replaced_by` is the new prefix.
    expires_at: Mapped[datetime | None]
    replaced_by: Mapped[str | None] = mapped_column(String(16))


# Issue 6 (security): department callback secrets rotated with `birthlink keys rotate`.
class CallbackSecret(Base):
    """A secret a department signs its callbacks with (sealed: it must be read
    back to check signatures, so it cannot be hashed). Several are valid while
    one is rotated out; `secret` is null for the one configured in settings."""

    __tablename__ = "callback_secrets"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    department: Mapped[str] = mapped_column(String(8), index=True)
    secret: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON("callback_secrets.secret"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# Issue 3 (operators): messages the broker dead-lettered, moved here for operators.
class DeadLetterRow(Base):
    """A message its handler kept failing on, after the delivery limit; an operator
    lists it and re-drives it through the outbox (`redriven_at`, `redriven_by`).
    The envelope can hold a step's record: it is sealed like the outbox's."""

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("queue", "message_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(64))  # the base name, e.g. birthlink.nhc
    message_id: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(64))
    birth_id: Mapped[str] = mapped_column(String(32), index=True)
    step: Mapped[str | None] = mapped_column(String(32))
    envelope: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("dead_letters.envelope"))
    # Where it was first published (the exchange's unprefixed name), to re-drive it there.
    exchange: Mapped[str | None] = mapped_column(String(64))
    routing_key: Mapped[str | None] = mapped_column(String(64))
    deaths: Mapped[int] = mapped_column(Integer, default=1)  # dead-lettered again after a redrive
    dead_at: Mapped[datetime] = mapped_column(index=True)
    redriven_at: Mapped[datetime | None]
    redriven_by: Mapped[str | None] = mapped_column(String(80))
