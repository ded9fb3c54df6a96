"""Running the `birthlink` command line as operators do: a real process."""

import asyncio
import os
import sys
from dataclasses import dataclass

from gateway.store.db import Database


@dataclass(frozen=True)
class Ran:
    """How a command ended, and what it printed."""

    code: int
    out: str
    err: str


def store_env(db: Database, **extra: str) -> dict[str, str]:
    """The environment that points the CLI at `db` (SQLite file or PostgreSQL schema)."""
    env = {**os.environ, "BIRTHLINK_DATABASE_URL": db.url, **extra}
    if db.schema:
        env["BIRTHLINK_DATABASE_SCHEMA"] = db.schema
    return env


async def run_birthlink(env: dict[str, str], *args: str, logs: str = "--console-logs") -> Ran:
    """`birthlink <logs> <args>` with `env`; stdout and stderr apart."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "birthlink",
        logs,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())
