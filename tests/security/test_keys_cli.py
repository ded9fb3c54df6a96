"""`birthlink keys create|list|rotate|revoke|new-data-key` as an operator runs them."""

import os
from pathlib import Path

import httpx

from birthlink.samples import DEMO_HOSPITAL
from contracts.sealing import Keyring
from gateway.api.app import create_app
from gateway.bootstrap import bootstrap
from gateway.settings import GatewaySettings
from tests.support.cli import run_birthlink


async def birthlink(env: dict[str, str], *args: str) -> list[str]:
    ran = await run_birthlink(env, *args, logs="--json-logs")
    assert ran.code == 0, ran.err[-2000:]
    return ran.out.splitlines()


async def test_keys_are_made_listed_rotated_and_revoked_from_the_command_line(
    tmp_path: Path,
) -> None:
    db = tmp_path / "birthlink.db"
    env = {**os.environ, "BIRTHLINK_DATABASE_URL": str(db)}
    key = (await birthlink(env, "keys", "create", "--hospital", DEMO_HOSPITAL["code"]))[-1]
    prefix = key.split("_")[1]
    new = (await birthlink(env, "keys", "rotate", prefix, "--grace", "1h"))[-1]
    assert new.startswith("bl_")
    assert new != key
    secret = (await birthlink(env, "keys", "rotate", "--department", "mps", "--grace", "10m"))[-1]
    assert len(secret) >= 40
    listed = "\n".join(await birthlink(env, "keys", "list"))
    assert prefix in listed
    assert f"-> {new.split('_')[1]}" in listed
    assert "rotating" in listed
    assert "mps" in listed
    for secret_part in (key.split("_", 2)[2], new.split("_", 2)[2], secret):
        assert secret_part not in listed  # never a secret
    assert (await birthlink(env, "keys", "revoke", prefix))[-1] == f"revoked {prefix}"

    runtime = bootstrap(GatewaySettings(database_url=str(db)))
    await runtime.start(roles=())
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:

            async def status(k: str) -> int:
                answer = await client.get(
                    "/v1/births/" + "0" * 32, headers={"Authorization": f"Bearer {k}"}
                )
                return answer.status_code

            assert await status(key) == 401  # revoked, grace or not
            assert await status(new) == 404  # valid: the birth is unknown
    finally:
        await runtime.stop()
    data_key = (await birthlink(env, "keys", "new-data-key", "k9"))[-1]
    assert Keyring.parse(data_key).current == "k9"
