"""Encryption at rest: personal data never reaches the database in clear.

Every JSON column that can hold names, ID numbers, phones or addresses (the
posted event and its versions, the outgoing commands in the outbox, the steps'
outputs) is an `EncryptedJSON` column: the whole document is sealed with
AES-256-GCM (`contracts.sealing`) and stored as `{"kid", "nonce", "ct"}`, the key id
beside the ciphertext. The column's name is the associated data, so a sealed
value moved to another column does not open.

Why whole documents and not single fields: every reader (saga store, relay,
API views, the tracking check, corrections) keeps working on plain dicts, no
field can be forgotten when the contract grows, and the shape of the data is
hidden too. What must be searched is searched by a keyed hash
(`gateway.security.privacy.lookup_hash`) in a column of its own, never by the plaintext.

Keys come from settings (`BIRTHLINK_DATA_KEYS="kid1:<base64>,kid0:<base64>"`,
the first is current, the others still decrypt). The keyring is bound to a
database's engines (`bind`) so that several deployments can live in one process.

Rotation without downtime:
1. deploy `old,new` everywhere (every process can read the new key);
2. deploy `new,old` (new writes use the new key, old values still open);
3. `birthlink keys rotate-data` re-encrypts what is left, in small batches,
   each row compared-and-swapped on its nonce so a concurrent writer wins;
4. when it reports nothing under the old key id, drop the old key.
"""

import weakref
from typing import Any

from sqlalchemy import JSON, MetaData, Table, and_, func, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from contracts.sealing import Keyring
from gateway.store.db import Database

_bound: "weakref.WeakKeyDictionary[Dialect, Keyring]" = weakref.WeakKeyDictionary()


def bind(db: Database, keyring: Keyring) -> None:
    """Use `keyring` for every encrypted column read or written through `db`."""
    for engine in {db.writer, db.reader}:
        _bound[engine.sync_engine.dialect] = keyring


def keyring_of(dialect: Dialect) -> Keyring:
    keyring = _bound.get(dialect)
    if keyring is None:
        raise LookupError("no data keys are bound to this database: call crypto.bind(db, keys)")
    return keyring


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON column whose documents are stored sealed (AES-GCM, key id beside)."""

    impl = JSON
    cache_ok = True

    def __init__(self, context: str = "") -> None:
        # `context` (table.column) is the associated data; migrations only need the DDL.
        super().__init__(none_as_null=True)  # None is SQL NULL, not a sealed JSON null
        self.context = context

    def __repr__(self) -> str:
        # How Alembic writes the column into a migration: it must construct again.
        return f"{type(self).__name__}({self.context!r})"

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return keyring_of(dialect).seal(value, context=self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return keyring_of(dialect).open(value, context=self.context)


def encrypted_columns(metadata: MetaData) -> list[tuple[Table, str]]:
    """Every (table, column name) whose values are sealed."""
    return [
        (table, column.name)
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedJSON)
    ]


def _field(table: Table, column: str, name: str) -> ColumnElement[str]:
    value: ColumnElement[str] = type_coerce(table.c[column], JSON)[name].as_string()
    return value


async def count_by_key(db: Database, metadata: MetaData) -> dict[str, dict[str, int]]:
    """How many sealed values each `table.column` holds under each key id."""
    counts: dict[str, dict[str, int]] = {}
    async with db.read() as session:
        for table, column in encrypted_columns(metadata):
            kid = _field(table, column, "kid")
            rows = await session.execute(
                select(kid, func.count()).where(kid.is_not(None)).group_by(kid)
            )
            counts[f"{table.name}.{column}"] = {str(k): int(n) for k, n in rows.all()}
    return counts


async def reencrypt(db: Database, metadata: MetaData, *, batch: int = 200) -> int:
    """Seal every value not under the current key again, under it; return how many.

    Runs beside live traffic: each batch is its own short transaction, and a row
    is rewritten only if its nonce is still the one read (a writer that changed
    it meanwhile already sealed it afresh).
    """
    current = keyring_of(db.writer.sync_engine.dialect).current
    done = 0
    for table, column in encrypted_columns(metadata):
        kid, nonce = _field(table, column, "kid"), _field(table, column, "nonce")
        keys = list(table.primary_key.columns)
        while True:
            async with db.write() as session:
                query = (
                    select(*keys, nonce, table.c[column])
                    .where(kid.is_not(None), kid != current)
                    .limit(batch)
                )
                if not db.is_sqlite:
                    query = query.with_for_update(skip_locked=True)
                rows = (await session.execute(query)).all()
                for row in rows:
                    *ids, old_nonce, document = row
                    match = and_(*(k == v for k, v in zip(keys, ids, strict=True)))
                    result = await session.execute(
                        update(table).where(match, nonce == old_nonce).values({column: document})
                    )
                    done += result.rowcount  # type: ignore[attr-defined]
            if len(rows) < batch:
                break
    return done
