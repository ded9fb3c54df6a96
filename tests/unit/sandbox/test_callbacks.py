"""Callbacks: signed, retried while the gateway fails, given up after a few attempts."""

import asyncio

import httpx
import pytest
from structlog.testing import capture_logs

from sandbox.app import Sandbox
from sandbox.callbacks import CallbackSender
from sandbox.settings import SandboxSettings
from tests.unit.sandbox.support import (
    MOTHER_ID,
    PHONE,
    FakeClock,
    Receiver,
    hrss_body,
    key,
    mps_body,
    verify_signature,
    wait_until,
)


@pytest.fixture
def gateway_url(receiver: Receiver) -> str:
    return receiver.url


async def test_callback_is_retried_until_the_gateway_takes_it(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver,
) -> None:
    receiver.fail_first = 2
    await client.post("/mps/hukou/applications", json=mps_body(), headers=key("b1:hukou"))

    clock.advance(3600)
    await wait_until(lambda: len(receiver.accepted()) == 1)

    assert [c.status_code for c in receiver.received] == [500, 500, 204]
    assert len({c.body for c in receiver.received}) == 1
    assert all(verify_signature("dev-mps-secret", c.body, c.signature)
               for c in receiver.received)


async def test_callback_is_given_up_after_a_few_attempts_and_the_state_stays_readable(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver, sandbox: Sandbox,
) -> None:
    receiver.fail_first = 1000
    response = await client.post("/mps/hukou/applications", json=mps_body(),
                                 headers=key("b1:hukou"))
    sqbh = response.json()["sqbh"]

    clock.advance(3600)
    assert sandbox.sweep() == 1
    await asyncio.wait_for(sandbox.callbacks.idle(), timeout=5)

    assert len(receiver.received) == sandbox.settings.callback_attempts
    status = await client.get(f"/mps/hukou/applications/{sqbh}")
    assert status.json()["zt"] == "approved"


async def test_callback_to_an_unreachable_gateway_gives_up_without_raising(
    clock: FakeClock,
) -> None:
    settings = SandboxSettings(gateway_url="http://127.0.0.1:9", callback_attempts=2,
                               callback_backoff_s=0.0)
    sender = CallbackSender(settings, clock)
    try:
        delivered = await sender.deliver("mps", {"sqbh": "MPS1", "zt": "approved"})
    finally:
        await sender.close()

    assert delivered is False


async def test_callbacks_use_each_department_secret(
    clock: FakeClock, receiver: Receiver,
) -> None:
    settings = SandboxSettings(gateway_url=receiver.url, hrss_secret="s3cret")
    sender = CallbackSender(settings, clock)
    try:
        assert await sender.deliver("hrss", {"sqh": "HRSS1", "kh": "K1", "yjrq": None})
    finally:
        await sender.close()

    [callback] = receiver.received
    assert verify_signature("s3cret", callback.body, callback.signature)
    assert not verify_signature("dev-hrss-secret", callback.body, callback.signature)


async def test_logs_carry_no_names_id_numbers_phones_or_addresses(
    client: httpx.AsyncClient, clock: FakeClock, receiver: Receiver, sandbox: Sandbox,
) -> None:
    with capture_logs() as logs:
        await client.post("/mps/hukou/applications", json=mps_body(), headers=key("b1:hukou"))
        await client.post("/hrss/sbk/applications", json=hrss_body(), headers=key("b1:card"))
        await client.post("/mps/hukou/applications", json=mps_body() | {"xb": "x"},
                          headers=key("b2:hukou"))
        clock.advance(3600)
        await wait_until(lambda: len(receiver.accepted()) == 2)
        await sandbox.callbacks.idle()

    events = {entry["event"] for entry in logs}
    assert {"sandbox.mps.reviewed", "sandbox.hrss.card_made",
            "sandbox.callback.delivered"} <= events
    logged = repr(logs)
    gmsfhm = next(c.json()["gmsfhm"] for c in receiver.accepted() if c.department == "mps")
    for personal in ("张小明", "李华", MOTHER_ID, PHONE, "东城区", "文三路", gmsfhm):
        assert personal not in logged
