"""Schemathesis against the OpenAPI document of a running gateway (`birthlink
gateway`, a real uvicorn server): every operation, with a hospital key, an
operator key and no key. No 5xx, and every response matches its schema.

About 60 s in all; the number of cases each run made is printed (`-s` shows it).
"""

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from birthlink.samples import DEMO_HOSPITAL
from tests.support.processes import BIRTHLINK
from tests.support.servers import bound_socket, url_of, wait_for

pytestmark = pytest.mark.e2e

ST = str(Path(sys.executable).with_name("st"))
CHECKS = "not_a_server_error,response_schema_conformance"
SECONDS_PER_RUN = 20


async def run(*command: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """`birthlink gateway` on SQLite, and a key for a hospital and an operator."""
    env = {
        **os.environ,
        "BIRTHLINK_DATABASE_URL": str(tmp_path / "birthlink.db"),
        "BIRTHLINK_INTAKE_RATE_LIMIT": "1000000/minute",  # fuzz the logic, not the limiter
    }
    keys: dict[str, str] = {}
    for who, option, name in (
        ("hospital", "--hospital", DEMO_HOSPITAL["code"]),
        ("operator", "--operator", "ops"),
    ):
        code, out = await run(*BIRTHLINK, "keys", "create", option, name, env=env)
        assert code == 0, out
        keys[who] = out.split()[-1]
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
    try:
        await wait_for(lambda: healthy(url), within=30, what="gateway up")
        yield url, keys
    finally:
        process.terminate()
        await process.wait()
        log.close()


@pytest.mark.parametrize("who", ["hospital", "operator", "anonymous"])
async def test_every_operation_answers_without_5xx_and_as_documented(
    gateway: tuple[str, dict[str, str]], who: str
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
    )
    cases = re.search(r"(\d+) generated, (\d+) passed", out)
    print(f"schemathesis ({who}): {cases[0] if cases else 'no summary'}")
    assert code == 0, out[-6000:]
    assert cases is not None, out[-3000:]
    assert int(cases[1]) == int(cases[2]) > 100
