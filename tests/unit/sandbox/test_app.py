"""The sandbox app: routes, lifespan, mounting in a host app, the uvicorn factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from sandbox.app import Sandbox, app_factory, create_sandbox
from sandbox.settings import SandboxSettings
from tests.unit.sandbox.support import key, nhc_body


def transport_to(app: FastAPI) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_lifespan_starts_and_stops_a_standalone_sandbox() -> None:
    sandbox = create_sandbox(SandboxSettings())

    async with sandbox.app.router.lifespan_context(sandbox.app):
        assert sandbox.running
    assert not sandbox.running


async def test_lifespan_leaves_an_already_started_sandbox_to_its_starter() -> None:
    sandbox = create_sandbox(SandboxSettings())

    async with sandbox:
        async with sandbox.app.router.lifespan_context(sandbox.app):
            assert sandbox.running
        assert sandbox.running
    assert not sandbox.running


async def test_start_and_stop_may_be_called_twice() -> None:
    sandbox = create_sandbox(SandboxSettings())

    await sandbox.start()
    await sandbox.start()
    await sandbox.stop()
    await sandbox.stop()

    assert not sandbox.running


async def test_a_host_app_mounts_the_sandbox_and_runs_it_from_its_own_lifespan() -> None:
    sandbox = create_sandbox(SandboxSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with sandbox:
            yield

    host = FastAPI(lifespan=lifespan)
    host.mount("/sandbox", sandbox.app)

    async with host.router.lifespan_context(host):
        assert sandbox.running
        async with httpx.AsyncClient(transport=transport_to(host),
                                     base_url="http://host") as client:
            response = await client.post("/sandbox/nhc/csyxzm", json=nhc_body(),
                                         headers=key("b1:cert"))
            listing = await client.get("/sandbox/nhc/_sandbox/records")
            unknown = await client.get("/sandbox/mps/hukou/applications/MPS0")
    assert not sandbox.running
    assert response.status_code == 201
    assert (unknown.status_code, unknown.json()) == (404, {"yy": "no such record"})
    assert len(listing.json()["records"]) == 1


def test_app_factory_builds_the_five_departments_from_the_environment() -> None:
    app = app_factory()

    paths = set(app.openapi()["paths"])
    assert {"/nhc/csyxzm", "/cdc/ImmunizationService/register", "/mps/hukou/applications",
            "/nhsa/insurance/enrol", "/hrss/sbk/applications", "/healthz",
            "/mps/_sandbox/records", "/hrss/_sandbox/faults"} <= paths


def test_each_sandbox_has_its_own_departments() -> None:
    first, second = create_sandbox(SandboxSettings()), create_sandbox(SandboxSettings())

    assert isinstance(first, Sandbox)
    assert first.departments["nhc"] is not second.departments["nhc"]
