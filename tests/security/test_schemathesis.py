"""Schemathesis against the OpenAPI document of a running gateway (`birthlink
gateway`, a real uvicorn server): every operation, with a hospital key, an
operator key and no key. No 5xx, and every response matches its schema.

About 50 s in all; the number of cases each run made is printed (`-s` shows it).
"""

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from birthlink.samples import DEMO_HOSPITAL
from gateway.bootstrap import database_for
from gateway.clock import SystemClock
from gateway.security.keys import create_key
from gateway.settings import GatewaySettings
from gateway.store.migrate import migrate
from tests.support.processes import BIRTHLINK
from tests.support.servers import bound_socket, healthy, url_of, wait_for

pytestmark = pytest.mark.e2e

ST = str(Path(sys.executable).with_name("st"))
CHECKS = "not_a_server_error,response_schema_conformance"
SECONDS_PER_RUN = 15


async def run(*command: str, env: dict[str, str], cwd: Path | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def make_keys(database_url: str) -> dict[str, str]:
    """A hospital key and an operator key, straight into the gateway's store."""
    db = database_for(GatewaySettings(database_url=database_url))
    try:
        await migrate(db)
        async with db.write() as session:
            now = SystemClock().now()
            hospital = await create_key(
                session, role="hospital", name="h", hospital_code=DEMO_HOSPITAL["code"], now=now
            )
            operator = await create_key(
                session, role="operator", name="ops", hospital_code=None, now=now
            )
    finally:
        await db.dispose()
    return {"hospital": hospital, "operator": operator}


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """`birthlink gateway` on SQLite, and a key for a hospital and an operator."""
    env = {
        **os.environ,
        "BIRTHLINK_DATABASE_URL": str(tmp_path / "birthlink.db"),
        "BIRTHLINK_INTAKE_RATE_LIMIT": "1000000/minute",  # fuzz the logic, not the limiter
    }
    keys = await make_keys(env["BIRTHLINK_DATABASE_URL"])
    sock = bound_socket()
    url = url_of(sock)
    sock.close()
    log = (tmp_path / "gateway.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        *BIRTHLINK,
        "--json-logs",
        "gateway",
        "--port",
        url.rsplit(":", 1)[1],
        env=env,
        stdout=log,
        stderr=log,
    )

    async def up() -> bool:
        if process.returncode is not None:  # it died: say why, do not wait on it
            raise AssertionError((tmp_path / "gateway.log").read_text()[-3000:])
        return await healthy(url)

    try:
        await wait_for(up, within=30, what="gateway up")
        yield url, keys
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        log.close()


@pytest.mark.parametrize("who", ["hospital", "operator", "anonymous"])
async def test_every_operation_answers_without_5xx_and_as_documented(
    gateway: tuple[str, dict[str, str]], who: str, tmp_path: Path
) -> None:
    url, keys = gateway
    auth = ["-H", f"Authorization: Bearer {keys[who]}"] if who in keys else []
    code, out = await run(
        ST,
        "run",
        f"{url}/openapi.json",
        *auth,
        "--checks",
        CHECKS,
        "--max-time",
        str(SECONDS_PER_RUN),
        "--generation-database",
        "none",
        "--no-color",
        env={**os.environ, "NO_COLOR": "1"},
        cwd=tmp_path,  # schemathesis keeps a cache directory where it runs
    )
    cases = re.search(r"(\d+) generated, (\d+) passed", out)
    print(f"schemathesis ({who}): {cases[0] if cases else 'no summary'}")
    assert code == 0, out[-6000:]
    assert cases is not None, out[-3000:]
    assert int(cases[1]) == int(cases[2]) > 100
