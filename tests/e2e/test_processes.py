"""The production layout of docker-compose.yml, run for real: every role its own
`birthlink` process on RabbitMQ and PostgreSQL; and `kill -9` of those processes
mid-flight, which loses no birth and makes no department do anything twice."""

import asyncio
import os
import random
from pathlib import Path

import httpx
import pytest

from birthlink.samples import birth_event
from contracts.catalogue import BUILTIN_DEPARTMENTS
from tests.support.processes import assert_one_record_per_birth, deployment
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


async def test_kill_9_of_every_worker_mid_flight_loses_nothing_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    births = 20
    async with deployment(tmp_path / "logs", later_delay_s=0.3) as deploy:
        headers = {"Authorization": f"Bearer {deploy.hospital_key}"}
        async with httpx.AsyncClient(base_url=deploy.sandbox_url) as sandbox:
            for department in BUILTIN_DEPARTMENTS:  # slow enough to be killed mid-call
                await sandbox.post(f"/{department}/_sandbox/faults", json={"latency_ms": 300})
        async with httpx.AsyncClient(
            base_url=deploy.gateway_url, headers=headers, timeout=30
        ) as http:
            rng = random.Random(12)
            posted = await asyncio.gather(
                *(http.post("/v1/births", json=birth_event(rng)) for _ in range(births))
            )
            assert [p.status_code for p in posted] == [202] * births
            ids = [p.json()["birth_id"] for p in posted]

            async def statuses() -> list[str]:
                return [(await http.get(f"/v1/births/{i}")).json()["status"] for i in ids]

            async def first_step_done() -> bool:
                steps = (await http.get(f"/v1/births/{ids[0]}")).json()["steps"]
                return any(s["state"] == "completed" for s in steps)

            await wait_for(first_step_done, within=60, interval=0.02, what="work under way")
            # Every process that moves births along, killed with no chance to
            # finish what it holds (unacked messages, unmarked outbox rows,
            # department calls in flight), then started again.
            workers = ["orchestrator", "relay", *(f"adapter-{d}" for d in BUILTIN_DEPARTMENTS)]
            await asyncio.gather(*(deploy.kill_and_restart(name) for name in workers))
            assert (await statuses()).count("completed") < births  # it was mid-flight

            async def all_completed() -> bool:
                return await statuses() == ["completed"] * births

            await wait_for(all_completed, within=120, interval=0.5, what="every birth completed")
        await assert_one_record_per_birth(deploy.sandbox_url, ids)


async def test_three_orchestrators_two_gateways_and_two_of_each_adapter_share_300_births(
    tmp_path: Path,
) -> None:
    births = int(os.environ.get("BIRTHLINK_TEST_SCALE_BIRTHS", "300"))
    async with deployment(
        tmp_path / "logs", later_delay_s=0.3, gateways=2, orchestrators=3, relays=2, adapters=2
    ) as deploy:
        key = {"Authorization": f"Bearer {deploy.hospital_key}"}
        gateways = [
            httpx.AsyncClient(base_url=url, headers=key, timeout=30) for url in deploy.gateway_urls
        ]
        try:
            gate = asyncio.Semaphore(20)

            async def post(n: int) -> str:
                async with gate:
                    response = await gateways[n % 2].post("/v1/births", json=birth_event(rng))
                assert response.status_code == 202, response.text
                return str(response.json()["birth_id"])

            rng = random.Random(13)
            ids = await asyncio.gather(*(post(n) for n in range(births)))

            async def completed() -> int:
                done, cursor = 0, None
                while True:
                    page = (
                        await gateways[0].get(
                            "/v1/births",
                            params={
                                "status": "completed",
                                "limit": 200,
                                **({"cursor": cursor} if cursor else {}),
                            },
                        )
                    ).json()
                    done += len(page["births"])
                    if not (cursor := page["next_cursor"]):
                        return done

            async def all_completed() -> bool:
                return await completed() == births

            await wait_for(all_completed, within=240, interval=1, what=f"{births} births completed")
        finally:  # however the block ends: no socket left open for a later test
            for client in gateways:
                await client.aclose()
        await assert_one_record_per_birth(deploy.sandbox_url, ids)
        async with httpx.AsyncClient() as http:
            scraped = {
                name: (await http.get(url)).text for name, url in deploy.metrics_urls.items()
            }
    steps = {
        name: _metric(text, "birthlink_step_duration_seconds_count")
        for name, text in scraped.items()
    }
    by_writer: dict[str, float] = {}
    for text in scraped.values():
        for labels, value in _samples(text, "birthlink_saga_conflicts_total").items():
            by_writer[labels] = by_writer.get(labels, 0) + value
    conflicts = sum(by_writer.values())
    print(
        f"\nsteps completed by each orchestrator: {steps}; "
        f"optimistic-lock conflicts: {conflicts:g} {by_writer}"
    )
    assert sum(steps.values()) == births * len(BUILTIN_DEPARTMENTS)
    assert all(count > 0 for count in steps.values()), steps  # each took its share
    # Partitions keep a birth's replies and its timers on one orchestrator: 0 in
    # quiet and loaded runs (347 under load when every sweeper visited every birth).
    assert conflicts <= births // 20


def _samples(exposition: str, name: str) -> dict[str, float]:
    """A Prometheus metric's samples, by their labels."""
    return {
        line[len(name) : line.rindex(" ")]: float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith((f"{name} ", f"{name}{{"))
    }


def _metric(exposition: str, name: str) -> float:
    """The sum of a Prometheus metric's samples over its labels."""
    return sum(_samples(exposition, name).values())
