"""A private PostgreSQL for fault tests: its own cluster directory and port,
run as the `postgres` user (initdb refuses root), so that stopping it never
touches the machine's shared server."""

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.servers import free_port


def _bin(name: str) -> str:
    """The newest installed PostgreSQL's `name` (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt install postgresql)")
    return found[-1]


class PrivatePostgres:
    """`initdb` in a temporary directory; `start`, `stop` (fast), `remove`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="birthlink-pg-"))
        self.root.chmod(0o777)
        self.data = self.root / "data"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres(_bin("initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        ran = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if ran.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {ran.stdout}{ran.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                          "-o", options, "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
