"""Fixtures for the sandbox departments: a controllable clock, the sandbox, a
client over ASGI, and a real HTTP server standing in for the gateway's
callback endpoint."""

import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import httpx
import pytest
import uvicorn

from sandbox.app import Sandbox, create_sandbox
from sandbox.settings import SandboxSettings
from tests.unit.sandbox.support import CST, CallbackServer, FakeClock, Receiver


@pytest.fixture(scope="session")
def callback_server() -> Iterator[CallbackServer]:
    """A real HTTP server on 127.0.0.1 (port 0: a free one), in a thread of its own."""
    hub = CallbackServer()
    config = uvicorn.Config(hub.app(), host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off", http="h11", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="callback-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "callback server stopped"
        assert time.monotonic() < deadline, "callback server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    hub.base_url = f"http://127.0.0.1:{port}"
    yield hub
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def receiver(callback_server: CallbackServer) -> Receiver:
    """This test's callbacks."""
    return callback_server.receiver()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 27, 10, 0, tzinfo=CST))


@pytest.fixture
def gateway_url() -> str:
    """Where callbacks go; modules that check callbacks override it with ``receiver``."""
    return "http://127.0.0.1:9"


@pytest.fixture
def settings(gateway_url: str) -> SandboxSettings:
    # Later answers take an hour on the fake clock: tests advance it to get them.
    return SandboxSettings(gateway_url=gateway_url, later_delay_s=3600, sweep_interval_s=0.005,
                           callback_attempts=3, callback_backoff_s=0.01)


@pytest.fixture
async def sandbox(settings: SandboxSettings, clock: FakeClock) -> AsyncIterator[Sandbox]:
    async with create_sandbox(settings, clock=clock) as started:
        yield started


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http
