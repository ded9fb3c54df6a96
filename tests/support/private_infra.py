"""Private infrastructure for fault tests: a PostgreSQL of the test's own
(`initdb` and `pg_ctl` on a free port, in a temporary directory), so that a test
may stop and start it without touching the machine's shared one (the RabbitMQ
cluster of the same kind is `tests.support.rabbit_cluster`).

PostgreSQL refuses to run as root: as root, its commands run as the `postgres`
user (`runuser`), in a directory that user owns.
"""

import asyncio
import glob
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import free_port

PG_USER = "postgres"


def postgres_bin() -> Path:
    """Where the server's binaries are (the newest installed version)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise RuntimeError("no PostgreSQL server binaries (scripts/setup-machine installs them)")
    return Path(found[-1]).parent


@dataclass
class PrivatePostgres:
    """One PostgreSQL server of a test: `dsn` reaches its `postgres` database."""

    home: Path
    port: int
    bin: Path

    @property
    def dsn(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.home / "data"

    async def _run(self, *args: str) -> None:
        run_as = ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []
        process = await asyncio.create_subprocess_exec(
            *run_as,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.home,
        )
        out, _ = await process.communicate()
        if process.returncode != 0:
            log = self.home / "postgres.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {out.decode()[-2000:]}\n{tail}")

    async def init(self) -> None:
        await self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    async def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        await self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.home / "postgres.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    async def stop(self) -> None:
        """A fast shutdown: connections are cut, nothing waits for clients."""
        await self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A PostgreSQL of this test alone, started; stopped and removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="birthlink-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, PG_USER, PG_USER)
    pg = PrivatePostgres(home, free_port(), postgres_bin())
    try:
        await pg.init()
        await pg.start()
        yield pg
    finally:
        if (pg.data / "postmaster.pid").exists():
            await pg.stop()
        await asyncio.to_thread(shutil.rmtree, home, ignore_errors=True)
