"""`birthlink up` as its own process, with the sandbox departments in another
(`birthlink sandbox`), so that what the departments hold outlives a `kill -9`
of birthlink. On embedded defaults (SQLite, in-process bus), or on RabbitMQ and
PostgreSQL when `env` names them."""

import asyncio
import os
import random
import re
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from birthlink.installation import generate
from birthlink.samples import birth_event
from contracts.catalogue import BUILTIN_DEPARTMENTS
from tests.support.processes import BIRTHLINK, assert_one_record_per_birth
from tests.support.servers import free_port, healthy, wait_for

KEY = re.compile(r"demo hospital:\s+\S+\s+key: (\S+)")


def free_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


async def post_under_way(http: httpx.AsyncClient, rng: random.Random, count: int) -> list[str]:
    """Post `count` births at once (each accepted) and wait until work is under
    way (a step of the first completed); their ids."""
    posted = await asyncio.gather(
        *(http.post("/v1/births", json=birth_event(rng)) for _ in range(count))
    )
    assert [p.status_code for p in posted] == [202] * count
    ids = [str(p.json()["birth_id"]) for p in posted]

    async def some_step_done() -> bool:
        steps = (await http.get(f"/v1/births/{ids[0]}")).json()["steps"]
        return any(s["state"] == "completed" for s in steps)

    await wait_for(some_step_done, within=30, interval=0.02, what="work under way")
    return ids


async def statuses(http: httpx.AsyncClient, ids: Sequence[str]) -> list[str]:
    return [str((await http.get(f"/v1/births/{i}")).json()["status"]) for i in ids]


@dataclass
class Up:
    """A running `birthlink up` and its departments."""

    env: dict[str, str]
    url: str
    sandbox_url: str
    logs: Path
    key: str = ""
    starts: int = 0
    process: asyncio.subprocess.Process | None = None
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def _spawn(self, name: str, *args: str) -> asyncio.subprocess.Process:
        with (self.logs / f"{name}.log").open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *BIRTHLINK, "--console-logs", *args, env=self.env, stdout=out, stderr=out
            )
        self.processes.append(process)
        return process

    async def start(self) -> None:
        """Start `birthlink up` on its port; wait until it serves and printed a key."""
        self.process = await self._spawn("up", "up", "--port", self.url.rsplit(":", 1)[1])
        self.starts += 1
        log = self.logs / "up.log"
        process = self.process

        async def printed_key() -> str | None:
            if process.returncode is not None:
                raise AssertionError((await asyncio.to_thread(log.read_text))[-3000:])
            found = KEY.findall(await asyncio.to_thread(log.read_text))
            if len(found) < self.starts or not await healthy(self.url):
                return None
            return str(found[-1])

        self.key = await wait_for(printed_key, within=60, what="birthlink up")

    async def kill(self) -> None:
        """`kill -9`: nothing is finished, nothing is flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    def client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    async def faults(self, **faults: Any) -> None:
        """The same faults at every department (`latency_ms`, `error_rate`...)."""
        async with httpx.AsyncClient(base_url=self.sandbox_url) as sandbox:
            for department in BUILTIN_DEPARTMENTS:
                answer = await sandbox.post(f"/{department}/_sandbox/faults", json=faults)
                answer.raise_for_status()

    async def assert_one_record_per_birth(self, ids: Sequence[str]) -> None:
        """Each department holds one record per birth, under the birth's own key."""
        await assert_one_record_per_birth(self.sandbox_url, ids)


async def stop(process: asyncio.subprocess.Process) -> None:
    """Ctrl-C, and `kill -9` if it has not ended within 20 s."""
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


@asynccontextmanager
async def running_up(tmp_path: Path, env: dict[str, str] | None = None) -> AsyncIterator[Up]:
    """`birthlink up` in `tmp_path` (SQLite there unless `env` names a store)
    with the departments in their own process; both stopped afterwards."""
    logs = tmp_path / "logs"
    await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
    url, sandbox_url = free_url(), free_url()
    base = {k: v for k, v in os.environ.items() if not k.startswith("BIRTHLINK_")}
    up = Up(
        {
            **base,
            "BIRTHLINK_PROFILE": "five",  # the tests' births and hospital
            "BIRTHLINK_DATABASE_URL": str(tmp_path / "birthlink.db"),
            "BIRTHLINK_SECRETS_FILE": str(tmp_path / "birthlink.secrets.env"),
            "BIRTHLINK_DEPARTMENTS_URL": sandbox_url,
            "BIRTHLINK_SMS_URL": f"{sandbox_url}/sms",
            "BIRTHLINK_PUBLIC_URL": url,
            "BIRTHLINK_LATER_DELAY_S": "0.3",
            **generate(),  # the departments sign callbacks with the secrets birthlink checks
            **(env or {}),
        },
        url,
        sandbox_url,
        logs,
    )
    try:
        await up._spawn(
            "sandbox", "sandbox", "--port", sandbox_url.rsplit(":", 1)[1], "--gateway", url
        )
        await wait_for(lambda: healthy(sandbox_url), within=30, what="sandbox up")
        await up.start()
        yield up
    finally:
        for process in reversed(up.processes):
            await stop(process)
