"""Each adapter against the sandbox departments over real HTTP (uvicorn on loopback)."""

import asyncio
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from stdnum.cn import ric

from adapters._runtime.errors import PermanentError
from adapters._runtime.settings import AdapterSettings
from adapters._runtime.worker import DepartmentAdapter
from adapters.registry import build_adapter, department_http_client, run_adapters
from bus.inprocess import InProcessTransport
from bus.topology import COMMANDS_EXCHANGE, ORCHESTRATOR_QUEUE
from contracts.catalogue import builtin_registry
from contracts.commands import PollDepartment, SubmitStep, routing_key
from contracts.envelope import Envelope
from contracts.records import StepRecord
from contracts.replies import StepReply
from sandbox.app import create_sandbox
from sandbox.settings import SandboxSettings
from tests.unit.adapters import samples

pytestmark = pytest.mark.integration

T = TypeVar("T")
TIMEOUT_S = 15.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """The sandbox app served by uvicorn on a free loopback port for this module.

    Callbacks go to a port nobody listens on: the adapters poll instead.
    """
    settings = SandboxSettings(
        gateway_url=f"http://127.0.0.1:{_free_port()}",
        later_delay_s=0.2,
        sweep_interval_s=0.05,
        callback_attempts=1,
        callback_backoff_s=0,
    )
    sandbox = create_sandbox(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(sandbox.app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(TIMEOUT_S)
        sock.close()


@pytest.fixture
def settings(sandbox_url: str) -> AdapterSettings:
    return AdapterSettings(departments_url=sandbox_url, retry_max_wait_s=1)


@pytest.fixture
async def controls(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox's `_sandbox` controls; every department's faults cleared before and after."""
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        for department in ("nhc", "cdc", "mps", "nhsa", "hrss"):
            (await client.post(f"/{department}/_sandbox/faults", json={})).raise_for_status()
        yield client
        for department in ("nhc", "cdc", "mps", "nhsa", "hrss"):
            (await client.post(f"/{department}/_sandbox/faults", json={})).raise_for_status()


class Department:
    """One department's adapter over a real HTTP client, and its sandbox records."""

    def __init__(self, name: str, settings: AdapterSettings, controls: httpx.AsyncClient) -> None:
        self.name = name
        self.http = department_http_client(name, settings)
        self.adapter: DepartmentAdapter = build_adapter(name, self.http, settings)
        self.controls = controls

    async def records(self, key: str) -> list[dict[str, Any]]:
        resp = await self.controls.get(f"/{self.name}/_sandbox/records")
        resp.raise_for_status()
        return [r for r in resp.json()["records"] if r["key"] == key]

    async def faults(self, **faults: Any) -> None:
        (await self.controls.post(f"/{self.name}/_sandbox/faults", json=faults)).raise_for_status()


@pytest.fixture
async def departments(
    settings: AdapterSettings, controls: httpx.AsyncClient
) -> AsyncIterator[Callable[[str], Department]]:
    opened: list[Department] = []

    def open_department(name: str) -> Department:
        opened.append(Department(name, settings, controls))
        return opened[-1]

    yield open_department
    for department in opened:
        await department.http.aclose()


def new_key(step: str) -> str:
    return f"{uuid.uuid4().hex}:{step}"


def submit(key: str, record: StepRecord) -> SubmitStep:
    return SubmitStep(idempotency_key=key, record=record.model_dump(mode="json"))


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout_s: float = TIMEOUT_S) -> T:
    """Poll `probe` until it returns something, or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.05)


async def poll_until_decided(
    department: Department, step: str, key: str, reference: str
) -> StepReply:
    async def decided() -> StepReply | None:
        reply = await department.adapter.poll(
            PollDepartment(idempotency_key=key, reference=reference), step=step
        )
        return None if reply.outcome == "pending" else reply

    return await eventually(decided)


async def test_the_health_commission_issues_a_certificate_from_our_mapping(
    departments: Callable[[str], Department],
) -> None:
    nhc, key = departments("nhc"), new_key("birth_certificate")
    reply = await nhc.adapter.submit(
        submit(key, samples.certificate_record()), step="birth_certificate"
    )
    assert reply.outcome == "completed"
    number = reply.output["certificate_number"]
    assert re.fullmatch(r"[A-Z][0-9]{9}", number or "")
    (record,) = await nhc.records(key)
    assert (record["state"], record["requests"]) == ("issued", 1)
    assert record["data"]["csrq"] == "202611270830"


async def test_a_repeated_submit_with_the_same_key_creates_one_record(
    departments: Callable[[str], Department],
) -> None:
    nhc, key = departments("nhc"), new_key("birth_certificate")
    cmd = submit(key, samples.certificate_record())
    first = await nhc.adapter.submit(cmd, step="birth_certificate")
    second = await nhc.adapter.submit(cmd, step="birth_certificate")
    assert first.output == second.output
    (record,) = await nhc.records(key)
    assert record["requests"] == 2


async def test_the_registry_records_the_birth_doses_from_our_xml(
    departments: Callable[[str], Department],
) -> None:
    cdc, key = departments("cdc"), new_key("vaccination_record")
    reply = await cdc.adapter.submit(
        submit(key, samples.vaccination_record()), step="vaccination_record"
    )
    assert reply.outcome == "completed"
    assert (reply.output["record_number"] or "").startswith("CDC330106")
    (record,) = await cdc.records(key)
    assert record["state"] == "registered"
    assert record["requests"] == 1


async def test_the_household_review_ends_with_a_valid_citizen_id(
    departments: Callable[[str], Department],
) -> None:
    mps, key = departments("mps"), new_key("household_registration")
    accepted = await mps.adapter.submit(
        submit(key, samples.household_record()), step="household_registration"
    )
    assert accepted.outcome == "accepted"
    assert accepted.reference is not None
    assert accepted.output == {"application_number": accepted.reference}

    reply = await poll_until_decided(mps, "household_registration", key, accepted.reference)
    assert reply.outcome == "completed"
    citizen_id = reply.output["citizen_id"]
    assert citizen_id is not None
    assert ric.is_valid(citizen_id)
    assert ric.get_birth_date(citizen_id) == date(2026, 11, 27)
    assert citizen_id.startswith("330106")
    assert int(citizen_id[14:17]) % 2 == 1  # a boy: odd sequence number


async def test_a_review_rejection_is_polled_as_rejected_with_the_reason(
    departments: Callable[[str], Department],
) -> None:
    mps, key = departments("mps"), new_key("household_registration")
    await mps.faults(
        reject_at_review=[{"field": "hjdz.qh", "equals": "330106", "reason": "address unknown"}]
    )
    accepted = await mps.adapter.submit(
        submit(key, samples.household_record()), step="household_registration"
    )
    assert accepted.reference is not None
    reply = await poll_until_decided(mps, "household_registration", key, accepted.reference)
    assert (reply.outcome, reply.reason) == ("rejected", "address unknown")


async def test_medical_insurance_enrols_and_refuses_the_same_person_under_another_key(
    departments: Callable[[str], Department],
) -> None:
    nhsa = departments("nhsa")
    certno = samples.resident_id(born="20261127", seq=f"{uuid.uuid4().int % 900 + 1:03d}")
    record = samples.insurance_record(citizen_id=certno)
    reply = await nhsa.adapter.submit(
        submit(new_key("medical_insurance"), record), step="medical_insurance"
    )
    assert reply.outcome == "completed"
    assert reply.output["insurance_number"]

    with pytest.raises(PermanentError) as caught:
        await nhsa.adapter.submit(
            submit(new_key("medical_insurance"), record), step="medical_insurance"
        )
    assert caught.value.status == 409
    assert caught.value.reason


async def test_the_card_application_is_accepted_then_the_card_is_made(
    departments: Callable[[str], Department],
) -> None:
    hrss, key = departments("hrss"), new_key("social_security_card")
    accepted = await hrss.adapter.submit(
        submit(key, samples.card_record()), step="social_security_card"
    )
    assert accepted.outcome == "accepted"
    assert accepted.reference is not None
    assert accepted.output == {"application_number": accepted.reference}

    reply = await poll_until_decided(hrss, "social_security_card", key, accepted.reference)
    assert reply.outcome == "completed"
    assert reply.output["card_number"]
    assert reply.output["application_number"] == accepted.reference
    assert reply.output["mailed_at"] is not None
    date.fromisoformat(reply.output["mailed_at"])


async def test_a_department_refusal_carries_its_reason(
    departments: Callable[[str], Department],
) -> None:
    nhc = departments("nhc")
    await nhc.faults(reject=[{"field": "csdd", "equals": "330106", "reason": "no such place"}])
    with pytest.raises(PermanentError) as caught:
        await nhc.adapter.submit(
            submit(new_key("birth_certificate"), samples.certificate_record()),
            step="birth_certificate",
        )
    assert (caught.value.status, caught.value.reason, caught.value.code) == (
        400,
        "no such place",
        "REJECTED",
    )


async def test_a_failed_request_is_retried_in_the_call_and_creates_one_record(
    departments: Callable[[str], Department],
) -> None:
    cdc, key = departments("cdc"), new_key("vaccination_record")
    await cdc.faults(fail_next=2, fail_status=503)
    reply = await cdc.adapter.submit(
        submit(key, samples.vaccination_record()), step="vaccination_record"
    )
    assert reply.outcome == "completed"
    (record,) = await cdc.records(key)
    assert record["requests"] == 1


async def test_a_command_on_the_in_process_bus_gets_its_reply(
    settings: AdapterSettings, controls: httpx.AsyncClient
) -> None:
    transport = InProcessTransport()
    replies: asyncio.Queue[Envelope] = asyncio.Queue()

    async def orchestrator(envelope: Envelope) -> None:
        await replies.put(envelope)

    await transport.start()
    await transport.subscribe(ORCHESTRATOR_QUEUE, orchestrator, prefetch=1)
    runtime = await run_adapters(["nhc"], transport, settings)
    try:
        command = Envelope(
            type=builtin_registry()["birth_certificate"].command,
            birth_id=uuid.uuid4().hex,
            step="birth_certificate",
            data=submit(new_key("birth_certificate"), samples.certificate_record()).model_dump(),
        )
        await transport.publish(
            command, exchange=COMMANDS_EXCHANGE, routing_key=routing_key("nhc", "submit")
        )
        reply = await asyncio.wait_for(replies.get(), TIMEOUT_S)
    finally:
        await transport.close()
        await runtime.close()
    assert reply.message_id == f"{command.message_id}.reply"
    assert reply.type == "StepCompleted"
    assert StepReply.model_validate(reply.data).output["certificate_number"]
