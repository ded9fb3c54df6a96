"""The production layout of docker-compose.yml, run for real: every role its own
`birthlink` process on RabbitMQ and PostgreSQL."""

import asyncio
import random
from pathlib import Path

import httpx
import pytest

from birthlink.samples import birth_event
from tests.support.processes import deployment
from tests.support.servers import wait_for

pytestmark = pytest.mark.e2e


async def test_births_complete_with_each_role_in_its_own_process(tmp_path: Path) -> None:
    async with deployment(tmp_path / "logs", later_delay_s=0.3) as deploy:
        headers = {"Authorization": f"Bearer {deploy.hospital_key}"}
        async with httpx.AsyncClient(
            base_url=deploy.gateway_url, headers=headers, timeout=30
        ) as http:
            rng = random.Random(11)
            posted = await asyncio.gather(
                *(http.post("/v1/births", json=birth_event(rng)) for _ in range(5))
            )
            assert [p.status_code for p in posted] == [202] * 5

            async def all_completed() -> bool:
                statuses = [
                    (await http.get(f"/v1/births/{p.json()['birth_id']}")).json()["status"]
                    for p in posted
                ]
                return statuses == ["completed"] * 5

            await wait_for(all_completed, within=60, what="five births completed")
            async with httpx.AsyncClient(base_url=deploy.sandbox_url) as sandbox:
                for department in ("nhc", "cdc", "mps", "nhsa", "hrss"):
                    records = (await sandbox.get(f"/{department}/_sandbox/records")).json()
                    assert len(records["records"]) == 5, department
