"""Schemathesis against the OpenAPI document of a running gateway: every
operation, with a hospital key, an operator key and no key. No 5xx, and every
response matches its schema.

Two deployments: `birthlink gateway` alone on SQLite, and `birthlink up` (every
role, the sandbox departments) on RabbitMQ and PostgreSQL, so that what is
accepted also travels. The intake and tracking limits are raised for the run
(fuzz the logic, not the limiters); the stateful phase follows the OpenAPI links
of an accepted birth; the hostile shapes of tests/cases/hostile_http.py are
mixed into the generated cases (tests/security/schemathesis_hooks.py).

The seed of each run is printed with its number of cases (`-s` shows them; a
failure's message has them too); it follows pytest-randomly's seed, so
`--randomly-seed` repeats it, and BIRTHLINK_SCHEMATHESIS_SEED sets it.
About 15 s per run, six runs.
"""

import asyncio
import os
import random
import re
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from uuid import uuid4

import pytest

from birthlink.installation import SECRETS_FILE, generate
from birthlink.samples import DEMO_HOSPITAL
from bus.rabbitmq import RabbitMQTransport
from bus.topology import Topology
from gateway.bootstrap import database_for
from gateway.clock import SystemClock
from gateway.security.keys import create_key
from gateway.settings import GatewaySettings
from gateway.store.migrate import migrate
from tests.support.processes import BIRTHLINK
from tests.support.servers import bound_socket, healthy, url_of, wait_for
from tests.support.stack import AMQP_URL, postgres_schema

pytestmark = pytest.mark.e2e

ST = str(Path(sys.executable).with_name("st"))
CHECKS = "not_a_server_error,response_schema_conformance"
SECONDS_PER_RUN = 15
ROOT = Path(__file__).resolve().parents[2]
LIMITS_RAISED = {
    "BIRTHLINK_INTAKE_RATE_LIMIT": "1000000/minute",
    "BIRTHLINK_TRACKING_RATE_LIMIT": "1000000/minute",
    "BIRTHLINK_TRACKING_CODE_LIMIT": "1000000/minute",
    "BIRTHLINK_TRACKING_CLIENT_CODE_LIMIT": "1000000/minute",
}


async def run(*command: str, env: dict[str, str], cwd: Path | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def make_keys(database_url: str, schema: str | None = None) -> dict[str, str]:
    """A hospital key and an operator key, straight into the gateway's store."""
    db = database_for(GatewaySettings(database_url=database_url, database_schema=schema))
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


@pytest.fixture(params=["sqlite", "rabbitmq-postgres"])
async def gateway(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """`birthlink gateway` on SQLite, or `birthlink up` on RabbitMQ and
    PostgreSQL (a fresh schema and queue prefix); a hospital and an operator key."""
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            env = {**os.environ, "BIRTHLINK_DATABASE_URL": str(tmp_path / "birthlink.db")}
            command, schema = "gateway", None
        else:
            dsn, schema = await stack.enter_async_context(postgres_schema())
            prefix = f"st{uuid4().hex[:8]}."
            env = {
                **os.environ,
                "BIRTHLINK_DATABASE_URL": dsn,
                "BIRTHLINK_DATABASE_SCHEMA": schema,
                "BIRTHLINK_AMQP_URL": AMQP_URL,
                "BIRTHLINK_AMQP_PREFIX": prefix,
            }
            rabbit = RabbitMQTransport(AMQP_URL, Topology(prefix=prefix))
            stack.push_async_callback(rabbit.delete_topology)
            command = "up"
        env.update(LIMITS_RAISED)
        # `gateway` refuses the development keys; `up` would keep its own file of them.
        env.update(generate(), **{SECRETS_FILE: str(tmp_path / "secrets.env")})
        keys = await make_keys(env["BIRTHLINK_DATABASE_URL"], schema)
        sock = bound_socket()
        url = url_of(sock)
        sock.close()
        log = stack.enter_context((tmp_path / "gateway.log").open("wb"))
        process = await asyncio.create_subprocess_exec(
            *BIRTHLINK,
            "--json-logs",
            command,
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
            await wait_for(up, within=60, what=f"birthlink {command} up")
            yield url, keys
        finally:
            if process.returncode is None:
                process.terminate()
            await process.wait()


@pytest.mark.parametrize("who", ["hospital", "operator", "anonymous"])
async def test_every_operation_answers_without_5xx_and_as_documented(
    gateway: tuple[str, dict[str, str]], who: str, tmp_path: Path
) -> None:
    url, keys = gateway
    auth = ["-H", f"Authorization: Bearer {keys[who]}"] if who in keys else []
    seed = int(os.environ.get("BIRTHLINK_SCHEMATHESIS_SEED") or random.randrange(2**32))
    code, out = await run(
        ST,
        "run",
        f"{url}/openapi.json",
        *auth,
        "--checks",
        CHECKS,
        "--max-time",
        str(SECONDS_PER_RUN),
        "--seed",
        str(seed),
        "--generation-database",
        "none",
        "--no-color",
        env={
            **os.environ,
            "NO_COLOR": "1",
            "SCHEMATHESIS_HOOKS": "tests.security.schemathesis_hooks",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
        cwd=tmp_path,  # schemathesis keeps a cache directory where it runs
    )
    cases = re.search(r"(\d+) generated, (\d+) passed", out)
    summary = f"schemathesis ({who}, seed {seed}): {cases[0] if cases else 'no summary'}"
    print(summary)
    assert code == 0, summary + "\n" + out[-6000:]
    assert cases is not None, out[-3000:]
    assert int(cases[1]) == int(cases[2]) > 100
