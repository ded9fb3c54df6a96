"""Personal data is encrypted at rest: after births went through end to end, no
posted name, ID number, phone or address (nor a citizen ID a department gave)
is in the database in clear: searched in a `pg_dump` of the schema, and in the
SQLite file with its WAL. Then the data keys rotate under live traffic:
`birthlink keys rotate-data` re-encrypts everything, every birth reads back
with the new key alone, and nothing is left under the old key id."""

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from birthlink.samples import birth_event
from contracts.sealing import Keyring
from gateway.settings import DEV_DATA_KEYS
from gateway.store import crypto
from gateway.store.crypto import count_by_key
from gateway.store.db import Database
from gateway.store.tables import Base, Birth, BirthVersion, OutboxRow, StepRow
from tests.security.personal import found_in, personal_values
from tests.support.cli import run_birthlink, store_env
from tests.support.stack import KINDS, Stack, running_stack

pytestmark = pytest.mark.e2e

CITIZEN_ID = "household_registration"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def sqlite_bytes(directory: Path) -> bytes:
    """The SQLite file with its -wal and -shm, read by another process: closing a
    descriptor of the file in this one would drop the store's POSIX locks."""
    files = sorted(str(p) for p in await asyncio.to_thread(directory.glob, "birthlink.db*"))
    assert {Path(f).name for f in files} >= {"birthlink.db", "birthlink.db-wal"}
    return await run("cat", *files)


async def run(*command: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out


async def database_bytes(stack: Stack, tmp_path: Path) -> bytes:
    """Everything the store holds, as bytes: a pg_dump, or the SQLite files."""
    db = stack.runtime.db
    if db.is_sqlite:
        return await sqlite_bytes(tmp_path)
    assert db.schema
    return await run("pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-n", db.schema, "test")


async def post_and_finish(stack: Stack, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    posted = await asyncio.gather(*(stack.post(e) for e in events))
    assert [p.status_code for p in posted] == [202] * len(events)
    return list(
        await asyncio.gather(
            *(stack.wait_until_final(p.json()["birth_id"], within=90) for p in posted)
        )
    )


async def rotate_data(stack: Stack, keys: str) -> str:
    """`birthlink keys rotate-data` as its own process, as an operator runs it."""
    env = store_env(stack.runtime.db, BIRTHLINK_DATA_KEYS=keys)
    ran = await run_birthlink(env, "keys", "rotate-data", "--batch", "7", logs="--json-logs")
    assert ran.code == 0, ran.err[-2000:]
    return ran.out


async def test_no_personal_value_is_stored_in_clear_and_rotation_keeps_every_birth(
    kind: str, tmp_path: Path
) -> None:
    rng = random.Random(61)
    async with running_stack(kind, tmp_path) as stack:
        first = [birth_event(rng) for _ in range(5)]
        # A department that quotes the data it refuses: its reason is personal too.
        refused = first[-1]["mother"]
        reason = f"母亲{refused['name']}的证件号码{refused['id_number']}与姓名不符"
        await stack.faults(
            "nhc", reject=[{"field": "mqxm", "equals": refused["name"], "reason": reason}]
        )
        births = await post_and_finish(stack, first)
        assert [b["status"] for b in births] == ["completed"] * 4 + ["action_required"]
        [rejected] = [s for s in births[-1]["steps"] if s["state"] == "rejected"]
        assert refused["name"] in rejected["last_error"]  # shown to the hospital, sealed at rest
        secrets = set().union(*(personal_values(e) for e in first))
        secrets |= {
            s["output"]["citizen_id"]
            for b in births
            for s in b["steps"]
            if s["step"] == CITIZEN_ID and s["state"] == "completed"
        }
        assert len(secrets) > 25
        # The parents' verification still works on the sealed event.
        mother_id = first[0]["mother"]["id_number"]
        tracked = await stack.anonymous.get(
            f"/v1/track/{births[0]['tracking_code']}", headers={"X-Verification": mother_id[-6:]}
        )
        assert tracked.status_code == 200

        stored = await database_bytes(stack, tmp_path)
        assert births[0]["hospital_record_id"].encode() in stored  # the search does see data
        assert found_in(stored, secrets) == set()
        plain = json.dumps(first).encode()  # and would find them, were they in clear
        assert found_in(plain, secrets) == set().union(*(personal_values(e) for e in first))

        # Rotation under live traffic: every process now seals with k1 and still
        # opens the old key; the re-encryption runs while more births go through.
        new_key = Keyring.generate("k1")
        both = f"{new_key},{DEV_DATA_KEYS}"
        crypto.bind(stack.runtime.db, Keyring.parse(both))
        await stack.faults("nhc")
        second = [birth_event(rng) for _ in range(4)]
        during, report = await asyncio.gather(
            post_and_finish(stack, second), rotate_data(stack, both)
        )
        assert "re-encrypted" in report
        assert all(b["status"] == "completed" for b in during)
        again = await rotate_data(stack, both)  # whatever the first pass raced with
        assert "dev:" not in again

        only_new = Database(stack.runtime.db.url, schema=stack.runtime.db.schema)
        crypto.bind(only_new, Keyring.parse(new_key))
        try:
            counts = await count_by_key(only_new, Base.metadata)
            assert set().union(*(set(c) for c in counts.values())) == {"k1"}, counts
            assert counts["births.event"] == {"k1": 9}
            async with only_new.read() as session:
                events = {
                    b.hospital_record_id: b.event for b in (await session.scalars(select(Birth)))
                }
                for table in (BirthVersion, StepRow, OutboxRow):
                    assert (await session.scalars(select(table))).all()  # every row opens
            assert events == {e["hospital_record_id"]: e for e in first + second}
        finally:
            await only_new.dispose()
        for birth in births:  # and the running gateway still serves the old births
            assert (await stack.birth(birth["birth_id"]))["status"] == birth["status"]
