"""The servers birthlink starts keep an idle connection open longer than the
clients' pools do (httpx: 5 s, uvicorn's default too). With equal timeouts the
server can close a connection just as a client reuses it, and that request fails
with a reset: a hospital's POST, or in a CI run of the scale-out test, the test's
own POST (`httpx.ReadError`) and 30 adapter calls to the sandbox."""

from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from birthlink import cli
from birthlink.installation import generate
from birthlink.up import assemble
from gateway.settings import GatewaySettings

CLIENT_KEEP_ALIVE_S = httpx.Limits().keepalive_expiry  # what a default client keeps


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The options `uvicorn.run` is called with."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    return seen


def test_birthlink_up_keeps_idle_connections_longer_than_clients(tmp_path: Path) -> None:
    settings = GatewaySettings(database_url=str(tmp_path / "up.db"))

    _, server = assemble(settings, "127.0.0.1", 8765)

    assert CLIENT_KEEP_ALIVE_S is not None
    assert server.config.timeout_keep_alive == 75 > CLIENT_KEEP_ALIVE_S


def test_birthlink_gateway_keeps_idle_connections_as_its_settings_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: dict[str, Any]
) -> None:
    monkeypatch.setenv("BIRTHLINK_DATABASE_URL", str(tmp_path / "gateway.db"))
    monkeypatch.setenv("BIRTHLINK_HTTP_KEEP_ALIVE_S", "120")
    for name, value in generate().items():  # it refuses the development ones
        monkeypatch.setenv(name, value)

    cli.gateway(host="127.0.0.1", port=8766)  # the command's body, without the CLI's logging

    assert served["timeout_keep_alive"] == 120


def test_the_sandbox_keeps_idle_connections_longer_than_the_adapters(
    served: dict[str, Any],
) -> None:
    cli.sandbox(host="127.0.0.1", port=8767, gateway_url="http://127.0.0.1:8766")

    assert CLIENT_KEEP_ALIVE_S is not None
    assert served["timeout_keep_alive"] == 75 > CLIENT_KEEP_ALIVE_S
