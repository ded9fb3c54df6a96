"""API keys (list, rotate with a grace period, revoke), bounded bodies, validated
paths, and the per-key limit on intake, through the gateway's HTTP API."""

import asyncio
import random
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from birthlink.samples import DEMO_HOSPITAL, birth_event
from gateway.api.app import create_app
from gateway.clock import ManualClock
from gateway.security.keys import UnknownKeyError, list_keys, revoke_key, rotate_key
from gateway.store.tables import ApiKey
from tests.support.gateway import Gateway, running_gateway

HOSPITAL = DEMO_HOSPITAL["code"]


def prefix_of(key: str) -> str:
    return key.split("_")[1]


async def test_keys_are_stored_only_as_hashes_and_listed_without_secrets(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, (HOSPITAL,)) as gw:
        async with gw.runtime.db.read() as session:
            rows = (await session.scalars(select(ApiKey))).all()
            listed = await list_keys(session)
        stored = " ".join(f"{r.prefix} {r.key_hash} {r.name}" for r in rows)
        for key in gw.keys.values():
            assert key not in stored
            assert key.split("_", 2)[2] not in stored
        assert {k.prefix for k in listed} == {prefix_of(k) for k in gw.keys.values()}
        assert {k.hospital_code for k in listed} == {HOSPITAL, None}


async def test_a_revoked_key_gets_401_on_its_next_request(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, (HOSPITAL,)) as gw:
        posted = await gw.client.post(
            "/v1/births", json=birth_event(random.Random(1)), headers=gw.auth(HOSPITAL)
        )
        birth = posted.json()["links"]["self"]
        assert (await gw.client.get(birth, headers=gw.auth(HOSPITAL))).status_code == 200
        async with gw.runtime.db.write() as session:
            await revoke_key(session, prefix_of(gw.keys[HOSPITAL]), now=gw.runtime.clock.now())
        refused = await gw.client.get(birth, headers=gw.auth(HOSPITAL))
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        again = await gw.client.post(
            "/v1/births", json=birth_event(random.Random(2)), headers=gw.auth(HOSPITAL)
        )
        assert again.status_code == 401
        async with gw.runtime.db.write() as session:
            with pytest.raises(UnknownKeyError):
                await revoke_key(session, prefix_of(gw.keys[HOSPITAL]), now=gw.runtime.clock.now())


async def test_requests_arriving_together_are_each_answered_for_their_own_key(
    tmp_path: Path,
) -> None:
    """Keys asked for at the same moment are checked by one read: each request
    still gets the answer of its own key."""
    async with running_gateway(tmp_path, (HOSPITAL, "OTHER")) as gw:
        posted = await gw.client.post(
            "/v1/births", json=birth_event(random.Random(3)), headers=gw.auth(HOSPITAL)
        )
        birth = posted.json()["links"]["self"]
        async with gw.runtime.db.write() as session:
            await revoke_key(session, prefix_of(gw.keys["OTHER"]), now=gw.runtime.clock.now())
        hospital, operator = gw.keys[HOSPITAL], gw.keys["operator"]
        keys = {
            hospital: 200,
            operator: 200,
            gw.keys["OTHER"]: 401,  # revoked
            f"{hospital[:-4]}AAAA": 401,  # the right prefix, a wrong secret
            "bl_nosuchprefix_secret": 401,
            "not-a-key": 401,
        }
        answers = await asyncio.gather(
            *(gw.client.get(birth, headers={"Authorization": f"Bearer {k}"}) for k in keys)
        )
        assert [a.status_code for a in answers] == list(keys.values())


async def test_a_rotated_key_works_beside_its_successor_until_the_grace_period_ends(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with running_gateway(tmp_path, (HOSPITAL,)) as gw:
        gw.runtime.clock = clock
        old = gw.keys[HOSPITAL]
        async with gw.runtime.db.write() as session:
            new = await rotate_key(
                session, prefix_of(old), now=clock.now(), grace=timedelta(hours=1)
            )
        for seed, key in enumerate((old, new)):
            answer = await gw.client.post(
                "/v1/births",
                json=birth_event(random.Random(seed)),
                headers={"Authorization": f"Bearer {key}"},
            )
            assert answer.status_code == 202
        clock.advance(timedelta(minutes=61))
        late = await gw.client.get(
            "/v1/births/" + "0" * 32, headers={"Authorization": f"Bearer {old}"}
        )
        assert late.status_code == 401
        fine = await gw.client.get(
            "/v1/births/" + "0" * 32, headers={"Authorization": f"Bearer {new}"}
        )
        assert fine.status_code == 404  # known key, unknown birth
        async with gw.runtime.db.read() as session:
            [info] = [k for k in await list_keys(session) if k.prefix == prefix_of(old)]
        assert info.replaced_by == prefix_of(new)
        assert info.state(clock.now()) == "expired"


async def nested(gw: Gateway, depth: int) -> int:
    body = "[" * depth + "]" * depth
    answer = await gw.client.post(
        "/v1/births",
        content=body,
        headers={**gw.auth(HOSPITAL), "Content-Type": "application/json"},
    )
    return answer.status_code


async def test_bodies_nested_too_deep_or_with_too_many_values_are_refused_before_parsing(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path, (HOSPITAL,)) as gw:
        assert await nested(gw, 17) == 400
        assert await nested(gw, 30000) == 400  # would make a recursive parser overflow
        many = "[" + ",".join(["1"] * 2500) + "]"
        answer = await gw.client.post(
            "/v1/births",
            content=many,
            headers={**gw.auth(HOSPITAL), "Content-Type": "application/json"},
        )
        assert answer.status_code == 413
        assert answer.json()["title"] == "Too many items"
        # Brackets inside strings do not count.
        event = birth_event(random.Random(5))
        event["hospital"] = {
            **event["hospital"],
            "name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{",
        }
        assert (
            await gw.client.post("/v1/births", json=event, headers=gw.auth(HOSPITAL))
        ).status_code == 202
        assert (await gw.count_rows())["births"] == 1


@pytest.mark.parametrize(
    "path", ["/v1/births/not-an-id", "/v1/births/%00" + "a" * 29, "/v1/births/" + "A" * 32]
)
async def test_malformed_birth_ids_are_refused_and_change_nothing(
    tmp_path: Path, path: str
) -> None:
    async with running_gateway(tmp_path, (HOSPITAL,)) as gw:
        answer = await gw.client.get(path, headers=gw.auth(HOSPITAL))
        assert answer.status_code in (400, 404)
        assert answer.headers["content-type"] == "application/problem+json"


async def test_a_nul_byte_in_any_url_is_a_400_problem(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, (HOSPITAL,)) as gw:
        answer = await gw.client.get("/v1/track/ABCD%00EFGH", headers={"X-Verification": "123456"})
        assert answer.status_code == 400
        assert answer.json()["title"] == "Control characters in the URL"


async def test_an_oversized_authorization_header_is_401(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, (HOSPITAL,)) as gw:
        answer = await gw.client.get(
            "/v1/births/" + "0" * 32, headers={"Authorization": "Bearer bl_" + "a" * 5000}
        )
        assert answer.status_code == 401


async def test_intake_beyond_the_per_key_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    async with running_gateway(
        tmp_path, (HOSPITAL, "H11010500002"), intake_rate_limit="3/minute"
    ) as gw:
        rng = random.Random(8)
        codes = [
            (
                await gw.client.post("/v1/births", json=birth_event(rng), headers=gw.auth(HOSPITAL))
            ).status_code
            for _ in range(4)
        ]
        assert codes == [202, 202, 202, 429]
        refused = await gw.client.post(
            "/v1/births", json=birth_event(rng), headers=gw.auth(HOSPITAL)
        )
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await gw.count_rows())["births"] == 3
        # Another hospital's key has its own budget.
        other = birth_event(rng)
        other["hospital"] = {**other["hospital"], "code": "H11010500002"}
        answer = await gw.client.post("/v1/births", json=other, headers=gw.auth("H11010500002"))
        assert answer.status_code != 429


async def test_an_unexpected_error_reaches_the_client_as_a_bare_500_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_gateway(tmp_path, (HOSPITAL,)) as gw:
        posted = await gw.client.post(
            "/v1/births", json=birth_event(random.Random(9)), headers=gw.auth(HOSPITAL)
        )
        assert posted.status_code == 202, posted.text
        secret = posted.json()["tracking_code"]

        def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError(f"database fell over while reading {secret} 110105199003071234")

        monkeypatch.setattr("gateway.api.births.birth_view", broken)
        # As a real server would: the app's answer, not the exception, reaches the client.
        transport = httpx.ASGITransport(app=create_app(gw.runtime), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            answer = await client.get(posted.json()["links"]["self"], headers=gw.auth(HOSPITAL))
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json() == {
            "type": "about:blank",
            "title": "Internal error",
            "status": 500,
            "instance": posted.json()["links"]["self"],
        }
        assert "Traceback" not in answer.text
        assert secret not in answer.text
