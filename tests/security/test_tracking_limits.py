"""The limits on wrong tracking look-ups (issue 11, item 5), seen from the clients:
which address is counted, the cap per code that many addresses cannot get around,
and parents who are not locked out by other people's wrong tries.

One gateway app; each client is an httpx client with its own peer address (the
ASGI `client`), as addresses on the Internet or a proxy in front would be. Time is
the limits' own clock, moved by the tests.
"""

import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import gateway.tracking.guard
from bus.inprocess import InProcessTransport
from gateway.api.app import create_app
from gateway.bootstrap import bootstrap
from gateway.security.keys import create_key
from gateway.settings import GatewaySettings
from gateway.tracking.guard import client_address, trusted_networks
from tests.cases.birth_cases import unique_event

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class Clock:
    """Stands in for the `time` module of the limits' memory storage and the guard."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    import limits.aio.storage.memory

    fake = Clock()
    monkeypatch.setattr(limits.aio.storage.memory, "time", fake)
    monkeypatch.setattr(gateway.tracking.guard, "time", fake)
    return fake


class Site:
    """The gateway, births posted to it, and clients at any address."""

    def __init__(self, app: Any, hospital: httpx.AsyncClient) -> None:
        self.app, self.hospital = app, hospital
        self._clients: dict[str, httpx.AsyncClient] = {}

    def at(self, address: str) -> httpx.AsyncClient:
        if address not in self._clients:
            transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
            self._clients[address] = httpx.AsyncClient(
                transport=transport, base_url="http://gateway"
            )
        return self._clients[address]

    async def birth(self) -> tuple[str, str]:
        """A posted birth: its tracking code and the right verification."""
        event = unique_event()
        answer = await self.hospital.post("/v1/births", json=event)
        assert answer.status_code == 202, answer.text
        return answer.json()["tracking_code"], event["contact"]["phone"][-6:]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()


@asynccontextmanager
async def site(tmp_path: Path, **settings: Any) -> AsyncIterator[Site]:
    runtime = bootstrap(
        GatewaySettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}", **settings),
        transport=InProcessTransport(),
    )
    await runtime.start(roles=())
    code = unique_event()["hospital"]["code"]
    async with runtime.db.write() as session:
        key = await create_key(
            session, role="hospital", name=code, hospital_code=code, now=runtime.clock.now()
        )
    app = create_app(runtime)
    hospital = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway",
        headers={"Authorization": f"Bearer {key}"},
    )
    running = Site(app, hospital)
    try:
        yield running
    finally:
        await running.close()
        await hospital.aclose()
        await runtime.stop()


async def look(
    client: httpx.AsyncClient,
    code: str,
    verification: str,
    *,
    events: bool = False,
    forwarded: str | None = None,
) -> httpx.Response:
    path = f"/v1/track/{code}" + ("/events" if events else "")
    headers = {"X-Verification": verification}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return await client.get(path, headers=headers)


def random_code(rng: random.Random) -> str:
    chars = "".join(rng.choice(ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def wrong(right: str) -> str:
    return "000000" if right != "000000" else "111111"


# -- which address is counted ----------------------------------------------------------


def test_forwarded_for_counts_only_behind_a_named_proxy() -> None:
    none: tuple[Any, ...] = ()
    proxies = trusted_networks("10.0.0.1, 192.168.0.0/16")

    assert client_address("127.0.0.1", ["198.51.100.9"], none) == "127.0.0.1"
    assert client_address("203.0.113.5", ["198.51.100.9"], proxies) == "203.0.113.5"
    assert client_address("10.0.0.1", ["198.51.100.9"], proxies) == "198.51.100.9"
    # A client cannot choose its key by writing addresses to the left of its own.
    assert client_address("10.0.0.1", ["1.2.3.4, 198.51.100.9"], proxies) == "198.51.100.9"
    assert client_address("10.0.0.1", ["198.51.100.9, 192.168.4.4"], proxies) == "198.51.100.9"
    assert client_address("10.0.0.1", ["nonsense"], proxies) == "10.0.0.1"


async def test_two_hundred_forwarded_addresses_from_one_peer_meet_the_limit(
    tmp_path: Path, clock: Clock
) -> None:
    # The report: 200 wrong tries, each with another X-Forwarded-For, all got 404.
    async with site(tmp_path) as gw:
        code, _ = await gw.birth()
        peer = gw.at("127.0.0.1")
        statuses = [
            (
                await look(peer, code, f"{i:06d}", forwarded=f"198.51.{i // 250}.{i % 250}")
            ).status_code
            for i in range(200)
        ]
        rng = random.Random(7)
        spread = [
            (
                await look(
                    gw.at("127.0.0.1"),
                    random_code(rng),
                    "000000",
                    forwarded=f"203.0.113.{i}",
                )
            ).status_code
            for i in range(40)
        ]

    assert statuses[:5] == [404] * 5
    assert set(statuses[5:]) == {429}  # one address: the peer's, whatever it forwards
    assert 429 in spread


async def test_behind_a_named_proxy_each_client_is_counted_apart(
    tmp_path: Path, clock: Clock
) -> None:
    async with site(tmp_path, trusted_proxies="10.0.0.1") as gw:
        code, right = await gw.birth()
        proxy = gw.at("10.0.0.1")
        guesser = "198.51.100.7"
        tries = [
            (await look(proxy, code, f"{i:06d}", forwarded=guesser)).status_code for i in range(6)
        ]
        spoofed = await look(proxy, code, right, forwarded="9.9.9.9, 198.51.100.7")
        parent = await look(proxy, code, right, forwarded="203.0.113.20")

    assert tries == [404] * 5 + [429]
    assert spoofed.status_code == 429  # a made-up hop in front changes nothing
    assert parent.status_code == 200


# -- per code ---------------------------------------------------------------------------


async def test_many_addresses_cannot_get_around_the_limit_per_code(
    tmp_path: Path, clock: Clock
) -> None:
    async with site(tmp_path) as gw:
        code, right = await gw.birth()
        first = [
            (await look(gw.at(f"198.51.100.{i}"), code, wrong(right))).status_code
            for i in range(10)
        ]
        after = [
            (await look(gw.at(f"203.0.113.{i}"), code, f"{i:06d}")).status_code for i in range(100)
        ]
        newcomer = await look(gw.at("192.0.2.1"), code, right)

    assert first == [404] * 10
    assert set(after) == {429}  # 100 more addresses: not one more guess is checked
    assert newcomer.status_code == 429
    assert 1 <= int(newcomer.headers["retry-after"]) <= 3600


async def test_a_parent_who_looked_before_gets_in_and_stays_live_while_the_code_is_locked(
    tmp_path: Path, clock: Clock
) -> None:
    async with site(tmp_path, tracking_stream_s=0.1) as gw:
        code, right = await gw.birth()
        parent = gw.at("203.0.113.50")
        assert (await look(parent, code, right)).status_code == 200
        for i in range(30):  # others guess from everywhere; the code locks
            await look(gw.at(f"198.51.100.{i}"), code, f"{i:06d}")
        assert (await look(gw.at("192.0.2.1"), code, right)).status_code == 429

        again = await look(parent, code, right)
        live = await look(parent, code, right, events=True)

    assert again.status_code == 200
    assert again.json()["tracking_code"] == code
    assert live.status_code == 200
    assert "event: update" in live.text


async def test_the_lock_on_a_code_is_short_once_the_guessing_stops(
    tmp_path: Path, clock: Clock
) -> None:
    async with site(tmp_path) as gw:
        code, right = await gw.birth()
        for i in range(10):
            await look(gw.at(f"198.51.100.{i}"), code, f"{i:06d}")
        locked = await look(gw.at("192.0.2.1"), code, right)
        clock.now += int(locked.headers["retry-after"])
        unlocked = await look(gw.at("192.0.2.1"), code, right)

    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) <= 3600  # at most an hour
    assert unlocked.status_code == 200


# -- one address, many people -----------------------------------------------------------


async def test_ten_wrong_tries_from_one_address_lock_no_one_else_behind_it_out(
    tmp_path: Path, clock: Clock
) -> None:
    async with site(tmp_path, tracking_stream_s=0.1) as gw:
        guessed, guessed_right = await gw.birth()
        other, other_right = await gw.birth()
        ward_wifi = gw.at("100.64.0.1")  # a hospital's Wi-Fi, a carrier NAT
        for i in range(10):
            await look(ward_wifi, guessed, f"{i:06d}")

        # Another family behind the same address, looking up their own code.
        page = await look(ward_wifi, other, other_right)
        live = await look(ward_wifi, other, other_right, events=True)
        # The guessed family, from home.
        home = await look(gw.at("203.0.113.9"), guessed, guessed_right)

    assert page.status_code == 200
    assert live.status_code == 200
    assert "event: update" in live.text
    assert home.status_code == 200
